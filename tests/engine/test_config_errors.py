"""Every invalid input fails with one line naming the file and the field, exit 1, and no AWS call."""
import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.cli import cli

LOCAL_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config" / "local.json"


def _set(path, value):
    def mutate(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return mutate


def _delete(path):
    def mutate(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node[key]
        del node[last]
    return mutate


def _rename(path, new_name):
    def mutate(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node[key]
        node[new_name] = node.pop(last)
    return mutate


CASES = [
    ("typo'd key hides behind the missing one", _rename(["projects", "fpac", "data_bucket"], "data_buckett"),
     "projects.fpac.data_buckett: unknown key (not part of the schema); did you mean 'data_bucket'? (and 1 more error)"),
    ("typo'd key inside a dict entry", _set(["projects", "fpac", "functions", "Validate", "memroy_mb"], 512),
     "projects.fpac.functions.Validate.memroy_mb: unknown key (not part of the schema); did you mean 'memory_mb'?"),
    ("typo'd top-level key", _rename(["artifact_bucket"], "artifact_bukcet"),
     "artifact_bukcet: unknown key (not part of the schema); did you mean 'artifact_bucket'?"),
    ("missing account_id", _delete(["account_id"]), "account_id: required field is missing"),
    ("malformed account_id", _set(["account_id"], "12345"), "account_id: String should match pattern"),
    ("unknown top-level key", _set(["artifact_bukket"], "x"), "artifact_bukket: unknown key"),
    ("bad environment name", _set(["environment"], "Dev!"), "environment: String should match pattern"),
    ("retention not allowed", _set(["log_retention_days"], 8), "log_retention_days: Value error, must be one of"),
    ("reserved tag", _set(["tags", "aws:owner"], "me"), "tags: Value error, tag key 'aws:owner' is reserved"),
    ("bad retry mode", _set(["aws", "retry_mode"], "legacy"), "aws.retry_mode: Input should be 'standard' or 'adaptive'"),
    ("bad endpoint", _set(["aws", "endpoint"], "ftp://somewhere"), "aws.endpoint: Value error, must be 'local'"),
    ("local with a real account", _set(["account_id"], "999999999999"), "account_id must be 123456789012"),
    ("bad bucket name", _set(["artifact_bucket"], "My_Bucket"), "artifact_bucket: String should match pattern"),
    ("lambda memory too small", _set(["projects", "fpac", "functions", "Validate", "memory_mb"], 64),
     "projects.fpac.functions.Validate.memory_mb: Input should be greater than or equal to 128"),
    ("unknown function", _set(["projects", "fpac", "functions", "Validat"], {}), "projects.fpac.functions.Validat"),
    ("unknown project key", _set(["projects", "fpac", "worker_count"], 3), "projects.fpac.worker_count: unknown key"),
    ("bad crawler schedule", _set(["projects", "fpac", "crawler", "schedule"], "every day"),
     "projects.fpac.crawler.schedule: String should match pattern"),
    ("glue workers too few", _set(["projects", "fpac", "glue_defaults", "number_of_workers"], 1),
     "projects.fpac.glue_defaults.number_of_workers"),
    ("missing data bucket", _delete(["projects", "fpac", "data_bucket"]), "projects.fpac.data_bucket: required field is missing"),
    ("unknown project section", _set(["projects", "fpacc"], {}), "projects.fpacc: unknown project"),
    ("wrong type", _set(["regions"], "us-east-2"), "regions: Input should be a valid list"),
    ("subscriber not an email address", _set(["projects", "fpac", "notifications", "email"], ["ops at example.com"]),
     "projects.fpac.notifications.email.0: Value error, 'ops at example.com' is not an email address"),
    ("subscriber over plain http", _set(["projects", "fpac", "notifications", "https"], ["http://alerts.example.com/x"]),
     "projects.fpac.notifications.https.0: Value error, 'http://alerts.example.com/x' is not an https:// URL"),
    ("subscriber listed twice", _set(["projects", "fpac", "notifications", "email"], ["a@example.com", "A@example.com"]),
     "projects.fpac.notifications.email: Value error, 'A@example.com' is listed twice"),
    ("unknown subscriber protocol", _set(["projects", "fpac", "notifications", "sqs"], ["arn:aws:sqs:us-east-2:1:q"]),
     "projects.fpac.notifications.sqs: unknown key"),
]


def _run(args):
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("label,mutate,expected", CASES, ids=[c[0] for c in CASES])
def test_invalid_config_fails_before_any_aws_call(tmp_path, no_aws, label, mutate, expected):
    doc = json.loads(LOCAL_CONFIG.read_text())
    bad = copy.deepcopy(doc)
    mutate(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    code, _, err = _run(["plan", "--config", str(path), "--project-type", "fpac"])
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0]
    assert expected in lines[0]


def test_missing_file(tmp_path, no_aws):
    code, _, err = _run(["plan", "--config", str(tmp_path / "nope.json"), "--project-type", "fpac"])
    assert code == 1 and "config file not found" in err and "nope.json" in err


def test_not_json(tmp_path, no_aws):
    path = tmp_path / "broken.json"
    path.write_text('{"environment": "dev",')
    code, _, err = _run(["plan", "--config", str(path), "--project-type", "fpac"])
    assert code == 1 and "not valid JSON" in err and "line 1" in err


def test_top_level_not_an_object(tmp_path, no_aws):
    path = tmp_path / "list.json"
    path.write_text("[]")
    code, _, err = _run(["plan", "--config", str(path), "--project-type", "fpac"])
    assert code == 1 and "top level must be a JSON object" in err


def test_region_must_be_allowed_by_the_config(no_aws):
    code, _, err = _run(["plan", "--config", str(LOCAL_CONFIG), "--region", "eu-west-1", "--project-type", "fpac"])
    assert code == 1 and "regions: --region eu-west-1 is not allowed" in err


def test_unknown_project_lists_the_known_ones(no_aws):
    code, _, err = _run(["plan", "--config", str(LOCAL_CONFIG), "--project-type", "nope"])
    assert code == 1 and "unknown project 'nope'" in err and "fpac" in err


def test_json_output_reports_the_error_as_json(tmp_path, no_aws):
    code, out, _ = _run(["plan", "--config", str(tmp_path / "nope.json"), "--project-type", "fpac", "--output", "json"])
    assert code == 1 and "config file not found" in json.loads(out)["error"]


@pytest.mark.parametrize("name", ["local", "dev", "test", "prod"])
def test_shipped_configs_validate_offline(no_aws, name):
    path = LOCAL_CONFIG.parent / f"{name}.json"
    code, out, err = _run(["validate", "--config", str(path), "--region", "us-east-2", "--project-type", "fpac"])
    assert code == 0, err
    assert "valid" in out
