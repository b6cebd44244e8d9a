"""The deploy path end to end against the local AWS endpoint: create, no-op, targeted updates, removal."""
from __future__ import annotations

from collections import Counter

import pytest

from deploy.common.preparation import prepare
from deploy.common.plan import RECORD_KIND


def _actions(plan):
    return {(c.action, c.kind, c.name) for c in plan.changes if c.action != "no-op"}


def test_first_deploy_creates_everything_then_second_is_zero_writes(runner, write_config):
    config = write_config()
    plan, result = runner.deploy(config)
    assert result.ok, [o.error for o in result.failed]
    kinds = Counter(c.kind for c in plan.changes if c.action == "create")
    assert kinds["lambda_function"] == 3 and kinds["glue_job"] == 3 and kinds["glue_crawler"] == 1
    assert kinds["state_machine"] == 1 and kinds["event_rule"] == 2 and kinds["iam_role"] == 9 and kinds["sns_topic"] == 1
    assert kinds[RECORD_KIND] == 1
    assert runner.calls.writes, "the first deploy must write"

    plan2, result2 = runner.deploy(config)
    assert not plan2.has_changes, _actions(plan2)
    assert result2.outcomes == []
    assert runner.calls.writes == [], runner.calls.writes
    assert runner.calls.calls, "the no-op run still reads"


def test_lambda_code_change_updates_only_that_function(runner, write_config, project_copy, local_aws_client):
    config = write_config()
    runner.deploy(config)
    handler = project_copy / "lambda" / "CreateNewId" / "handler.py"
    handler.write_text(handler.read_text() + "\n# a change\n")

    plan, result = runner.deploy(config)
    assert result.ok
    assert _actions(plan) == {("update", "lambda_function", "fpac-itest-createnewid")}
    (change,) = [c for c in plan.changes if c.action == "update"]
    assert set(change.changed_fields) == {"code_sha256"}
    ops = {op for _, op in runner.calls.writes}
    assert {"UpdateFunctionCode", "PublishVersion", "UpdateAlias"} <= ops
    assert not ops & {"UpdateFunctionConfiguration", "PutRolePolicy", "UpdateJob", "UpdateStateMachine"}
    lam = local_aws_client("lambda")
    alias = lam.get_alias(FunctionName="fpac-itest-createnewid", Name="live")
    assert alias["FunctionVersion"] != "1"
    assert lam.get_function(FunctionName="fpac-itest-createnewid", Qualifier="live")["Configuration"]["CodeSha256"] == \
        change.fields[0].new
    assert not runner.deploy(config)[0].has_changes


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d["projects"]["fpac"].setdefault("functions", {}).update({"Validate": {"memory_mb": 1024}}),
     ("lambda_function", "fpac-itest-validate", {"memory_mb"})),
    (lambda d: d["projects"]["fpac"].setdefault("jobs", {}).update({"cleaning": {"number_of_workers": 7}}),
     ("glue_job", "fpac-itest-cleaning", {"number_of_workers"})),
    (lambda d: d["projects"]["fpac"]["crawler"].update({"schedule": "cron(0 5 * * ? *)"}),
     ("glue_crawler", "fpac-itest-final-crawler", {"schedule"})),
], ids=["lambda-memory", "glue-workers", "crawler-schedule"])
def test_config_change_updates_only_that_resource(runner, write_config, mutate, expected):
    runner.deploy(write_config())
    changed_config = write_config(mutate, name="changed.json")
    plan, result = runner.deploy(changed_config)
    assert result.ok, [o.error for o in result.failed]
    kind, name, fields = expected
    assert _actions(plan) == {("update", kind, name)}
    (change,) = [c for c in plan.changes if c.action == "update"]
    assert set(change.changed_fields) == fields
    assert _actions(runner.deploy(changed_config)[0]) == set()


def test_workflow_change_updates_only_the_state_machine(runner, write_config, monkeypatch):
    from deploy.projects.fpac_pipeline import fpac_stepfunctions

    config = write_config()
    runner.deploy(config)
    original = fpac_stepfunctions.build_definition

    def longer_comment(refs):
        definition = original(refs)
        definition["Comment"] = definition.get("Comment", "") + " (v2)"
        return definition

    monkeypatch.setattr(fpac_stepfunctions, "build_definition", longer_comment)
    plan, result = runner.deploy(config)
    assert result.ok
    assert _actions(plan) == {("update", "state_machine", "fpac-itest-workflow")}
    assert [c.changed_fields for c in plan.changes if c.action == "update"] == [["definition"]]
    assert not runner.deploy(config)[0].has_changes


def test_removed_resource_is_deleted_through_record_and_tags_only(runner, write_config, local_aws_client):
    config = write_config()
    runner.deploy(config)
    glue = local_aws_client("glue")
    # Look-alikes the deployer did not create: same name pattern, never recorded.
    glue.create_job(Name="fpac-itest-manual", Role="arn:aws:iam::123456789012:role/x",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"},
                    Tags={"deployer:project": "fpac", "deployer:environment": "itest"})

    def without_trigger(specs):
        return [s for s in specs if s.component != "incoming"]

    plan, result = runner.deploy(config, specs_filter=without_trigger)
    assert result.ok, [o.error for o in result.failed]
    deleted = {(c.kind, c.name) for c in plan.changes if c.action == "delete"}
    assert deleted == {("event_rule", "fpac-itest-incoming"), ("iam_role", "fpac-itest-incoming-role")}
    assert not any(c.action in ("create", "update") and c.kind != RECORD_KIND for c in plan.changes)
    assert [o.change.kind for o in result.outcomes if o.change.action == "delete"] == ["event_rule", "iam_role"]
    assert [r["Name"] for r in local_aws_client("events").list_rules()["Rules"]] == ["fpac-itest-failures"]
    assert "fpac-itest-incoming-role" not in str(local_aws_client("iam").list_roles())
    assert "fpac-itest-manual" in glue.list_jobs()["JobNames"]
    # The record now omits what was deleted: the next run is a no-op.
    assert not runner.deploy(config, specs_filter=without_trigger)[0].has_changes


def test_recorded_resource_with_foreign_tags_is_not_deleted(runner, write_config, local_aws_client):
    config = write_config()
    runner.deploy(config)
    events = local_aws_client("events")
    arn = events.describe_rule(Name="fpac-itest-incoming")["Arn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "deployer:project", "Value": "someone-else"}])

    prepared = prepare(config, "us-east-2", "fpac")
    plan = runner.engine(prepared).plan([s for s in prepared.specs if s.key != "event_rule:fpac-itest-incoming"])
    assert not any(c.kind == "event_rule" and c.action == "delete" for c in plan.changes)
    assert any("fpac-itest-incoming" in n and "not deleted" in n for n in plan.notes)


def test_roles_carry_the_environments_boundary_and_one_taken_off_is_put_back(runner, write_config, local_aws_client):
    config = write_config()
    plan, result = runner.deploy(config)
    assert result.ok, [o.error for o in result.failed]
    assert ("create", "iam_policy", "pipeline-boundary-itest") in _actions(plan)
    iam = local_aws_client("iam")
    boundary = "arn:aws:iam::123456789012:policy/pipeline-boundary-itest"
    document = iam.get_policy_version(PolicyArn=boundary, VersionId="v1")["PolicyVersion"]["Document"]
    assert {s["Sid"] for s in document["Statement"]} >= {"PipelineData", "InvokeFunctions", "StartWorkflows"}
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("fpac-itest-")]
    assert len(roles) == 9
    for name in roles:
        assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary

    iam.delete_role_permissions_boundary(RoleName="fpac-itest-validate-role")  # out of band
    plan, result = runner.deploy(config)
    assert result.ok
    (change,) = [c for c in plan.changes if c.action == "update"]
    assert (change.name, change.changed_fields) == ("fpac-itest-validate-role", ["permissions_boundary"])
    assert ("iam", "PutRolePermissionsBoundary") in runner.calls.writes
    assert iam.get_role(RoleName="fpac-itest-validate-role")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert not runner.deploy(config)[0].has_changes
