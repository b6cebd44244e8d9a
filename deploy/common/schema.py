"""The JSON Schema of environment config files, generated from the models (engine + every project)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .config import EnvironmentConfig
from .projects import list_projects, load_project

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "config.schema.json"


def config_schema() -> dict[str, Any]:
    schema = EnvironmentConfig.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
    project_props: dict[str, Any] = {}
    for name in list_projects():
        sub = load_project(name).Settings.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        project_props[name] = sub
    schema["properties"]["projects"] = {
        "type": "object",
        "description": schema["properties"]["projects"].get("description", ""),
        "properties": project_props,
        "additionalProperties": False,
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def schema_text() -> str:
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"
