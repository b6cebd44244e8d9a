"""The deployer's own policies: plan reads only, deploy cannot escalate, run only runs; each fits a managed policy.

That they allow every call the deployer makes, with its resource and conditions, is proved by recording real
calls and evaluating them: tests/integration/test_deployer_policy_calls.py.
"""
import dataclasses
import json
from functools import lru_cache
from pathlib import Path

import pytest

from deploy.common.config import load_config
from deploy.common.deployer_policy import (
    ACCEPTED_FINDINGS, MANAGED_POLICY_CHARS, PURPOSES, READ, ROLE_WRITES_WITHIN_BOUNDARY, WRITE, deployer_policy, policy_size,
)
from deploy.common.preparation import Prepared, artifact_bucket_spec, prepare
from deploy.common.errors import ConfigError, ProjectError
from deploy.common.iam_policies import Accepted, check_policies, findings, finding_location, statement
from deploy.common.projects import load_project
from deploy.common.kinds import KNOWN_KINDS
from deploy.common.kinds.iam_policy import ManagedPolicySpec
from deploy.common.kinds.iam_role import RoleSpec

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
SHIPPED = [(c.name, r) for c in sorted(CONFIG_DIR.glob("*.json")) if not c.name.endswith("schema.json") and c.name != "routing.json"
           for r in load_config(c).regions]
STAR_SIDS = {"ReadAccount", "CreateCrawlers", "StateMachineLogDelivery"}
MANAGED_POLICIES_PER_ROLE = 10  # IAM's default quota (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)


@lru_cache(maxsize=None)
def _prepared(config: str, region: str) -> Prepared:
    return prepare(CONFIG_DIR / config, region, "fpac")


def policies(prepared: Prepared) -> dict[str, dict]:
    target = load_project("fpac").run_target(prepared.context)
    return {purpose: deployer_policy(purpose, prepared, target) for purpose in PURPOSES}


def second_project(prepared: Prepared, name: str = "payments") -> Prepared:
    """The same pipeline deployed as another project of the environment (names payments-prod-*), as a second
    project of the config would be: the policies are per project, the boundary per environment."""
    ctx = dataclasses.replace(prepared.context, project=name)
    module = load_project("fpac")
    boundary = [s for s in prepared.specs if isinstance(s, ManagedPolicySpec)]
    return Prepared(prepared.config_path, prepared.config, name, prepared.region, ctx,
                    [artifact_bucket_spec(ctx), *boundary, *module.build_specs(ctx)])


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict]:
    """parliament's IAM action catalogue: 'service:action' (lower case) -> its entry (access level, resources, keys)."""
    from parliament import iam_definition

    return {f"{service['prefix']}:{p['privilege']}".lower(): p for service in iam_definition for p in service["privileges"]}


def access_level(action: str) -> str:
    return _catalogue()[action.lower()]["access_level"]


def condition_keys(action: str) -> set[str]:
    return {k for r in _catalogue()[action.lower()]["resource_types"] for k in r["condition_keys"]}


def test_every_resource_kind_has_its_reads_and_writes():
    assert set(READ) == set(WRITE) == set(KNOWN_KINDS)


def test_every_action_named_is_in_the_catalogue():
    named = {a for table in (READ, WRITE) for actions in table.values() for a in actions} | set(ROLE_WRITES_WITHIN_BOUNDARY)
    assert not [a for a in named if a.lower() not in _catalogue()]


@pytest.mark.parametrize("config, region", SHIPPED)
def test_the_plan_policy_holds_no_write_action(config, region):
    plan = policies(_prepared(config, region))["plan"]
    levels = {a: access_level(a) for s in plan["Statement"] for a in s["Action"]}
    assert {s["Effect"] for s in plan["Statement"]} == {"Allow"}
    assert set(levels.values()) <= {"Read", "List"}, {a: lvl for a, lvl in levels.items() if lvl not in ("Read", "List")}
    assert len(levels) > 30


def test_every_write_is_in_the_deploy_policy_and_none_in_plan_or_run():
    reads = {a for actions in READ.values() for a in actions}
    assert {access_level(a) for a in reads} <= {"Read", "List"}
    assert all(access_level(a) not in ("Read", "List") for actions in WRITE.values() for a in actions)


@pytest.mark.parametrize("config, region", SHIPPED)
def test_every_printed_policy_fits_a_managed_policy_and_a_role_holds_them_all(config, region):
    prepared = _prepared(config, region)
    projects = [prepared, second_project(prepared)]
    sizes = {(p.project, purpose): policy_size(doc) for p in projects for purpose, doc in policies(p).items()}
    assert max(sizes.values()) <= MANAGED_POLICY_CHARS, sizes
    # The deploy role of the config: plan + deploy for every project and region (the run role: plan + run).
    regions = len(prepared.config.regions)
    assert 2 * len(projects) * regions <= MANAGED_POLICIES_PER_ROLE
    boundary = next(s for s in prepared.specs if isinstance(s, ManagedPolicySpec))
    assert policy_size(boundary.document) <= MANAGED_POLICY_CHARS


def test_history_under_object_lock_still_fits(tmp_path):
    data = json.loads((CONFIG_DIR / "prod.json").read_text())
    data["history_retention_days"] = 3650
    (tmp_path / "prod.json").write_text(json.dumps(data))
    prepared = prepare(tmp_path / "prod.json", "us-east-2", "fpac")
    sizes = {purpose: policy_size(doc) for purpose, doc in policies(prepared).items()}
    assert max(sizes.values()) <= MANAGED_POLICY_CHARS and sizes["deploy"] == 6079, sizes
    deploy = policies(prepared)["deploy"]
    (lock,) = [s for s in deploy["Statement"] if s["Sid"] == "EnableObjectLock"]
    assert lock["Resource"] == ["arn:aws:s3:::acme-pipelines-prod-artifacts-333333333333-us-east-2"]  # never the data bucket


def test_policy_sizes_as_documented():
    """The figures in docs/trust-model.md ('Deployer permissions'); a change here is a change there. (Issue 11: plan +23, the
    Glue batch reads, BatchGetJobs and BatchGetCrawlers, in; iam:ListPolicyTags out: GetPolicy shows the tags.)"""
    sizes = {(config, region): {purpose: policy_size(doc) for purpose, doc in policies(_prepared(config, region)).items()}
             for config, region in SHIPPED}
    assert sizes == {
        ("dev.json", "us-east-2"): {"plan": 2596, "deploy": 5473, "run": 664},
        ("test.json", "us-east-2"): {"plan": 2613, "deploy": 5508, "run": 668},
        ("prod.json", "us-east-2"): {"plan": 2701, "deploy": 5718, "run": 688},
        ("prod.json", "us-west-2"): {"plan": 2701, "deploy": 5718, "run": 688},
        ("local.json", "us-east-2"): {"plan": 2578, "deploy": 5452, "run": 646},
    }
    boundaries = {config: policy_size(next(s for s in _prepared(config, region).specs if isinstance(s, ManagedPolicySpec)).document)
                  for config, region in SHIPPED}
    assert boundaries == {"dev.json": 2226, "test.json": 2237, "prod.json": 2277, "local.json": 2196}


@pytest.mark.parametrize("config, region", SHIPPED)
def test_parliament_with_community_auditors_is_clean_but_for_reviewed_findings(config, region):
    for purpose, document in policies(_prepared(config, region)).items():
        check_policies([(f"deployer-{purpose}", {purpose: document})], accepted=ACCEPTED_FINDINGS, community=True)


def test_every_accepted_finding_still_occurs_and_the_only_escalation_is_deploying_code():
    found = [f for config, region in SHIPPED for doc in policies(_prepared(config, region)).values()
             for f in findings(doc, community=True)]
    for accepted in ACCEPTED_FINDINGS:
        assert any(accepted.matches(f) for f in found), f"stale acceptance: {accepted}"
    escalations = {finding_location(f)["type"] for f in found if f.issue == "PRIVILEGE_ESCALATION"}
    assert escalations == {"EditExistingLambdaFunctionWithRole"}


def test_accepted_findings_match_issue_and_location_not_text():
    prepared = _prepared("dev.json", "us-east-2")
    deploy = policies(prepared)["deploy"]
    boundary = prepared.context.permissions_boundary_arn
    # Changing the boundary is a permissions-management action nobody accepted.
    widened = {**deploy, "Statement": [*deploy["Statement"], statement("Widen", ["iam:CreatePolicyVersion"], [boundary])]}
    with pytest.raises(ProjectError, match="PERMISSIONS_MANAGEMENT_ACTIONS"):
        check_policies([("deployer", {"deploy": widened})], accepted=ACCEPTED_FINDINGS, community=True)
    # Assuming the roles it writes is the classic escalation: reported, not accepted.
    assume = {**deploy, "Statement": [s for s in deploy["Statement"] if s["Effect"] == "Allow"]
              + [statement("Assume", ["sts:AssumeRole"], [prepared.context.arns.role("fpac-dev-*")])]}
    escalations = [f for f in findings(assume, community=True) if f.issue == "PRIVILEGE_ESCALATION"]
    assert {finding_location(f)["type"] for f in escalations} >= {"PutRolePolicy", "UpdateRolePolicyToAssumeIt"}
    assert [finding_location(f)["type"] for f in escalations if any(a.matches(f) for a in ACCEPTED_FINDINGS)] == [
        "EditExistingLambdaFunctionWithRole"]
    # The same issue elsewhere is not accepted: a bucket escalation through an ACL, a mismatch of another action.
    assert not Accepted("RESOURCE_MISMATCH", {"actions": frozenset({"states:ListExecutions"})}, "").matches(
        type("F", (), {"issue": "RESOURCE_MISMATCH", "location": {}, "detail": [{"action": "s3:GetObject"}]})())
    acl = type("F", (), {"issue": "RESOURCE_POLICY_PRIVILEGE_ESCALATION", "location": {}, "detail":
                         "Possible resource policy privilege escalation on arn:aws:s3:::b due to s3:GetObject not being "
                         "allowed, but does allow s3:PutBucketAcl"})()
    assert not any(a.matches(acl) for a in ACCEPTED_FINDINGS)


@pytest.mark.parametrize("config, region", SHIPPED)
def test_role_writes_need_the_boundary_which_can_be_created_but_never_changed(config, region):
    prepared = _prepared(config, region)
    deploy = policies(prepared)["deploy"]
    boundary = prepared.context.permissions_boundary_arn
    iam = [(a, s) for s in deploy["Statement"] for a in s["Action"] if a.startswith("iam:")]
    for action, stmt in iam:
        if action in ROLE_WRITES_WITHIN_BOUNDARY:
            assert stmt["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": boundary}}, action
        elif action != "iam:PassRole":
            assert "iam:PermissionsBoundary" not in condition_keys(action), f"{action} could carry the boundary condition"
            assert "Condition" not in stmt
    granted = {a for a, _ in iam}
    assert not granted & {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                          "iam:DeleteRolePermissionsBoundary", "iam:AttachRolePolicy"}
    on_boundary = {a for a, s in iam if boundary in s["Resource"]}
    assert on_boundary == {"iam:CreatePolicy", "iam:TagPolicy", "iam:UntagPolicy"}  # create it once; its tags follow the config
    (deny,) = [s for s in deploy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Action"] == ["sts:AssumeRole"] and deny["Resource"] == next(
        s["Resource"] for s in deploy["Statement"] if s["Sid"] == "ManageRolesWithinBoundary")


def test_every_role_write_iam_can_condition_on_the_boundary_is_conditioned():
    # parliament's catalogue is older than AWS's (DeleteRole gained the key since): the evaluator of the call
    # test, with the current catalogue, denies a conditioned action that does not support it.
    conditionable = {a for a in (*WRITE[RoleSpec.kind], *ROLE_WRITES_WITHIN_BOUNDARY) if "iam:PermissionsBoundary" in condition_keys(a)}
    assert conditionable == set(ROLE_WRITES_WITHIN_BOUNDARY) - {"iam:DeleteRole"}


def test_a_boundary_named_by_the_config_is_not_created(tmp_path):
    data = json.loads((CONFIG_DIR / "dev.json").read_text())
    data["aws"]["permissions_boundary_arn"] = "arn:aws:iam::111111111111:policy/org-boundary"
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(data))
    deploy = policies(prepare(path, None, "fpac"))["deploy"]
    actions = {a for s in deploy["Statement"] for a in s["Action"]}
    assert not actions & {"iam:CreatePolicy", "iam:TagPolicy", "iam:UntagPolicy"}
    (within,) = [s for s in deploy["Statement"] if s["Sid"] == "ManageRolesWithinBoundary"]
    assert within["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": "arn:aws:iam::111111111111:policy/org-boundary"}}


@pytest.mark.parametrize("config, region", SHIPPED)
def test_each_role_is_passed_only_to_the_service_it_trusts(config, region):
    prepared = _prepared(config, region)
    deploy = policies(prepared)["deploy"]
    roles = {prepared.context.arns.role(s.name): s.trust_service for s in prepared.specs if isinstance(s, RoleSpec)}
    passing = [s for s in deploy["Statement"] if "iam:PassRole" in s["Action"]]
    assert len(passing) == 4
    for stmt in passing:
        assert stmt["Action"] == ["iam:PassRole"]
        (service,) = [stmt["Condition"]["StringEquals"]["iam:PassedToService"]]
        assert stmt["Resource"] == sorted(arn for arn, trusted in roles.items() if trusted == service)
    assert sorted(r for s in passing for r in s["Resource"]) == sorted(roles)


@pytest.mark.parametrize("config, region", SHIPPED)
def test_only_documented_statements_use_a_star_and_the_rest_stay_in_the_environment(config, region):
    prepared = _prepared(config, region)
    env, account = prepared.config.environment, prepared.config.account_id
    others = {"dev", "test", "prod", "local"} - {env}
    for purpose, document in policies(prepared).items():
        for stmt in document["Statement"]:
            resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
            if stmt["Sid"] in STAR_SIDS:
                assert resources == ["*"], (purpose, stmt["Sid"])
                continue
            for arn in resources:
                parts = arn.split(":")
                assert parts[4] in ("", account), arn  # never another or a wildcard account
                assert parts[3] in ("", region), arn
                assert env in arn or arn.endswith(":catalog"), arn
                assert not [o for o in others if f"-{o}-" in arn or f"_{o}_" in arn or f"/{o}/" in arn], arn


@pytest.mark.parametrize("purpose", [None, "plan", "deploy", "run"])
def test_the_command_prints_each_policy_and_deploy_by_default_without_any_aws_call(no_aws, purpose):
    from click.testing import CliRunner

    from deploy.cli import cli

    args = ["deployer-policy", "--config", str(CONFIG_DIR / "prod.json"), "--region", "us-west-2", "--project-type", "fpac"]
    result = CliRunner().invoke(cli, args + (["--for", purpose] if purpose else []))
    assert result.exit_code == 0, result.stderr
    expected = policies(_prepared("prod.json", "us-west-2"))[purpose or "deploy"]
    assert json.loads(result.stdout) == expected


def test_each_command_assumes_the_role_of_its_credential(tmp_path):
    from deploy.common.preparation import aws_target

    prod = _prepared("prod.json", "us-east-2")
    roles = {c: aws_target(prod, c).assume_role_arn for c in PURPOSES}
    assert roles == {"plan": "arn:aws:iam::333333333333:role/pipeline-planner",
                     "deploy": "arn:aws:iam::333333333333:role/pipeline-deployer",
                     "run": "arn:aws:iam::333333333333:role/pipeline-runner"}
    data = json.loads((CONFIG_DIR / "prod.json").read_text())
    del data["aws"]["plan_role_arn"], data["aws"]["run_role_arn"]
    (tmp_path / "one.json").write_text(json.dumps(data))
    one = prepare(tmp_path / "one.json", "us-east-2", "fpac")
    assert {aws_target(one, c).assume_role_arn for c in PURPOSES} == {"arn:aws:iam::333333333333:role/pipeline-deployer"}
    data["aws"]["run_role_arn"] = "arn:aws-cn:iam::333333333333:role/pipeline-runner"
    (tmp_path / "cn.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"cn.json: aws.run_role_arn: arn:aws-cn:iam::333333333333:role/pipeline-runner is not in "
                                          r"partition aws of region us-east-2$"):
        prepare(tmp_path / "cn.json", "us-east-2", "fpac")


def test_a_policy_too_big_for_one_managed_policy_is_split_into_parts_that_allow_the_same():
    from deploy.common.deployer_policy import split_policy

    prepared = _prepared("prod.json", "us-east-2")
    fpac = deployer_policy("deploy", prepared, None)
    assert split_policy(fpac) == [fpac], "a policy that fits stays whole"
    # A longer project name makes every ARN longer: prod's deploy policy no longer fits one managed policy.
    document = deployer_policy("deploy", second_project(prepared, "payments_reconciliation"), None)
    assert policy_size(document) > MANAGED_POLICY_CHARS
    parts = split_policy(document)
    assert len(parts) == 2 and all(policy_size(p) <= MANAGED_POLICY_CHARS for p in parts)
    assert [s for p in parts for s in p["Statement"]] == document["Statement"], "every statement once, in order"
    with pytest.raises(ValueError, match=r"statement \w+ alone needs \d+ characters"):
        split_policy(document, 100)


def test_the_command_prints_parts_only_when_asked_and_says_how_many(tmp_path, monkeypatch):
    """A copy of fpac under a longer name, in prod: its deploy policy is more than one managed policy holds."""
    import shutil
    import sys

    from click.testing import CliRunner

    from deploy.cli import cli
    from deploy.common.projects import ENV_VAR, PROJECTS_DIR

    shutil.copytree(PROJECTS_DIR / "fpac_pipeline", tmp_path / "projects" / "paymentsreconciliation_pipeline",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "projects"))
    data = json.loads((CONFIG_DIR / "prod.json").read_text())
    data["projects"]["paymentsreconciliation"] = {**data["projects"]["fpac"], "data_bucket": "acme-payrec-prod-data-{region}"}
    (tmp_path / "prod.json").write_text(json.dumps(data))
    args = ["deployer-policy", "--config", str(tmp_path / "prod.json"), "--region", "us-east-2",
            "--project-type", "paymentsreconciliation"]
    try:
        refused = CliRunner().invoke(cli, args)
        assert refused.exit_code == 1, refused.output
        assert "more than one managed policy holds (6144)" in refused.stderr and "--part 1 to --part 2" in refused.stderr
        parts = [CliRunner().invoke(cli, [*args, "--part", str(n)]) for n in (1, 2)]
        assert [p.exit_code for p in parts] == [0, 0]
        documents = [json.loads(p.stdout) for p in parts]
        assert all(policy_size(d) <= MANAGED_POLICY_CHARS for d in documents)
        sids = [s["Sid"] for d in documents for s in d["Statement"]]
        assert len(sids) == len(set(sids)) and {"ManageLambda", "ManageRolesWithinBoundary", "NeverAssumePipelineRoles"} <= set(sids)
        out_of_range = CliRunner().invoke(cli, [*args, "--part", "3"])
        assert out_of_range.exit_code == 1 and "has 2 part(s)" in out_of_range.stderr
    finally:
        for name in [m for m in sys.modules if m.startswith("pipeline_deployer_projects")]:
            del sys.modules[name]
