import json
from pathlib import Path

import jsonschema
import pytest

from deploy.common.schema import SCHEMA_PATH, schema_text

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"


def test_checked_in_schema_is_what_the_models_generate():
    assert SCHEMA_PATH.read_text() == schema_text(), "run: python deploy/deploy.py schema"


@pytest.mark.parametrize("name", ["local", "dev", "test", "prod"])
def test_shipped_configs_match_the_schema(name):
    jsonschema.validate(json.loads((CONFIG_DIR / f"{name}.json").read_text()), json.loads(SCHEMA_PATH.read_text()))


def test_schema_rejects_unknown_project_keys():
    doc = json.loads((CONFIG_DIR / "dev.json").read_text())
    doc["projects"]["fpac"]["jobz"] = {}
    with pytest.raises(jsonschema.ValidationError, match="jobz"):
        jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
