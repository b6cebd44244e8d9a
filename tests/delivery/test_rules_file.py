"""The routing rules file: the checked-in one is valid and documented; bad ones fail in one line."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from deploy.delivery.rules import DEFAULT_RULES_PATH, DEPLOY_DIR, SCHEMA_PATH, load_rules, rules_json_schema
from deploy.common.errors import ConfigError

from .conftest import rules_from

VALID = {
    "version": 1,
    "environments": {"dev": {"config": "config/dev.json", "region": "us-east-2"}},
    "rules": [{"name": "develop", "event": "push", "branch": "develop", "environment": "dev"}],
}


def with_rule(**changes: object) -> dict:
    data = copy.deepcopy(VALID)
    data["rules"][0].update(changes)
    return {k: v for k, v in data.items()}


def test_checked_in_rules_load_and_name_existing_configs(repo_rules):
    assert [r.name for r in repo_rules.rules] == [
        "develop-to-dev", "release-to-test", "main-prod-candidate", "release-tag-to-prod"]
    assert set(repo_rules.environments) == {"dev", "test", "prod"}
    for name, target in repo_rules.environments.items():
        assert (DEPLOY_DIR / target.config).is_file(), f"{name}: {target.config} does not exist"
        config = json.loads((DEPLOY_DIR / target.config).read_text())
        assert config["environment"] == name
        assert target.region in config["regions"], f"{name}: region {target.region} is not allowed by {target.config}"
    assert repo_rules.environments["prod"].approval_required is True


def test_checked_in_schema_is_the_generated_one():
    assert SCHEMA_PATH.read_text() == rules_json_schema(), (
        "deploy/config/routing.schema.json is stale; run: "
        "python -m deploy.delivery.rules > deploy/config/routing.schema.json"
    )


def test_schema_validates_the_checked_in_rules_and_rejects_unknown_keys():
    import jsonschema

    schema = json.loads(rules_json_schema())
    data = json.loads(DEFAULT_RULES_PATH.read_text())
    jsonschema.validate(data, schema)
    data["rules"][0]["brnach"] = "develop"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (with_rule(brnach="x"), "test-rules.json: rules.0.brnach: unknown key"),
        (with_rule(environment="qa"), "environment 'qa' is not defined in 'environments'"),
        (with_rule(event="tag", branch=None), "'tag' (a glob of tag names) is required for a tag rule"),
        (with_rule(event=["tag", "push"], tag="v*"), "a tag rule cannot also match other event kinds"),
        (with_rule(tag="v*"), "'tag' only applies to tag rules"),
        (with_rule(branch=None), "'branch' is required for push and pull request rules"),
        (with_rule(source_branch="feature/*"), "'source_branch' only applies to pull request events"),
        (with_rule(event="merge"), "test-rules.json: rules.0.event"),
        (with_rule(event=[]), "must name at least one event kind"),
        (with_rule(action="apply"), "test-rules.json: rules.0.action"),
        (with_rule(branch="has space"), "test-rules.json: rules.0.branch"),
        ({**VALID, "rules": VALID["rules"] * 2}, "rule name 'develop' is used twice"),
        ({**VALID, "version": 2}, "test-rules.json: version"),
        ({**VALID, "environments": {"dev": {"config": "/etc/dev.json", "region": "us-east-2"}}}, "environments.dev.config"),
        ({**VALID, "environments": {"dev": {"config": "config/dev.json", "region": "Ohio"}}}, "environments.dev.region"),
        ([], "test-rules.json: the top level must be a JSON object"),
    ],
)
def test_invalid_rules_fail_in_one_line_naming_file_and_field(data, expected):
    with pytest.raises(ConfigError) as error:
        rules_from(data)
    message = str(error.value)
    assert expected in message
    assert "\n" not in message


def test_load_rules_reports_missing_file_and_bad_json(tmp_path: Path):
    with pytest.raises(ConfigError, match="routing rules file not found"):
        load_rules(tmp_path / "nope.json")
    bad = tmp_path / "routing.json"
    bad.write_text('{"version": 1,')
    with pytest.raises(ConfigError, match=r"routing.json: not valid JSON"):
        load_rules(bad)


def test_event_list_is_deduplicated_and_a_single_event_is_accepted():
    rules = rules_from(with_rule(event=["push", "pull_request_merged", "push"]))
    assert rules.rules[0].events == ("push", "pull_request_merged")
    assert rules_from(VALID).rules[0].events == ("push",)
