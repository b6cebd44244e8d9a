"""The environment's permissions boundary: on every role, created before them, never iam or sts, in the environment."""
import json
from pathlib import Path

import pytest

from deploy.common import preparation
from deploy.common.boundary import boundary_document
from deploy.common.config import load_config
from deploy.common.preparation import prepare
from deploy.common.errors import ConfigError, ProjectError
from deploy.common.naming import Arns
from deploy.common.kinds.iam_policy import ManagedPolicySpec
from deploy.common.kinds.iam_role import RoleSpec

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
SHIPPED = [(c.name, r) for c in sorted(CONFIG_DIR.glob("*.json")) if c.name not in ("config.schema.json", "routing.json",
                                                                                          "routing.schema.json")
           for r in load_config(c).regions]
STAR_SIDS = {"StateMachineLogDelivery", "Tracing"}  # AWS authorises these only on "*"


def _boundary(prepared) -> ManagedPolicySpec:
    (boundary,) = [s for s in prepared.specs if isinstance(s, ManagedPolicySpec)]
    return boundary


def test_shipped_configs_are_all_covered():
    assert {name for name, _ in SHIPPED} == {"dev.json", "local.json", "prod.json", "test.json"}
    assert ("prod.json", "us-west-2") in SHIPPED


@pytest.mark.parametrize("config, region", SHIPPED)
def test_every_role_carries_the_environments_boundary_and_is_created_after_it(config, region):
    prepared = prepare(CONFIG_DIR / config, region, "fpac")
    boundary = _boundary(prepared)
    arn = prepared.context.arns.policy(boundary.name)
    roles = [s for s in prepared.specs if isinstance(s, RoleSpec)]
    assert len(roles) == 9
    for role in roles:
        assert role.permissions_boundary == arn, role.name
        assert boundary.key in role.depends_on, role.name
    several = len(prepared.config.regions) > 1
    assert boundary.name == f"pipeline-boundary-{prepared.config.environment}" + (f"-{region}" if several else "")
    assert boundary.tags["deployer:project"] == "deployer", "shared like the artifact bucket: in no project's record"


@pytest.mark.parametrize("config, region", SHIPPED)
def test_boundary_grants_no_iam_or_sts_and_stays_in_the_environment(config, region):
    prepared = prepare(CONFIG_DIR / config, region, "fpac")
    env, account = prepared.config.environment, prepared.config.account_id
    document = _boundary(prepared).document
    assert {s["Effect"] for s in document["Statement"]} == {"Allow"}
    for stmt in document["Statement"]:
        assert not [a for a in stmt["Action"] if a.split(":")[0] in ("iam", "sts") or "*" in a], stmt["Sid"]
        if stmt["Sid"] in STAR_SIDS:
            assert stmt["Resource"] == "*"
            continue
        for arn in stmt["Resource"]:
            if arn.startswith("arn:aws:s3:::"):
                assert f"-{env}-" in arn and (region in arn or len(prepared.config.regions) == 1), arn
                continue
            _, _, _, arn_region, arn_account, resource = arn.split(":", 5)
            assert (arn_region, arn_account) == (region, account), arn
            assert f"fpac-{env}-" in resource or f"fpac_{env}_" in resource or resource in ("catalog", "log-group:/aws-glue/*"), arn


def test_boundary_of_two_projects_fits_a_managed_policy():
    arns = Arns("us-west-2", "333333333333")
    buckets = [f"acme-{p}-prod-{kind}-333333333333-us-west-2" for p in ("fpac", "payments") for kind in ("data", "raw")]
    document = boundary_document(arns, "prod", ["fpac", "payments"], ["acme-pipelines-prod-artifacts-333333333333-us-west-2", *buckets])
    size = len("".join(json.dumps(document).split()))
    assert size <= 6144, size
    assert "arn:aws:lambda:us-west-2:333333333333:function:payments-prod-*" in json.dumps(document)


def _config(tmp_path, **aws) -> Path:
    data = json.loads((CONFIG_DIR / "dev.json").read_text())
    data["aws"].update(aws)
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(data))
    return path


def test_a_boundary_named_by_the_config_is_attached_and_not_managed(tmp_path):
    arn = "arn:aws:iam::111111111111:policy/org/pipelines-boundary"
    prepared = prepare(_config(tmp_path, permissions_boundary_arn=arn), None, "fpac")
    assert not [s for s in prepared.specs if isinstance(s, ManagedPolicySpec)]
    roles = [s for s in prepared.specs if isinstance(s, RoleSpec)]
    assert {r.permissions_boundary for r in roles} == {arn}
    assert not [d for r in roles for d in r.depends_on if d.startswith("iam_policy:")]


@pytest.mark.parametrize("arn, message", [
    ("arn:aws:iam::222222222222:policy/b", "is in account 222222222222, not 111111111111"),
    ("arn:aws-cn:iam::111111111111:policy/b", "is not in partition aws"),
    ("arn:aws:iam::111111111111:role/b", "String should match pattern"),
])
def test_a_wrong_boundary_arn_is_one_line_naming_the_field(tmp_path, arn, message):
    config = _config(tmp_path, permissions_boundary_arn=arn)
    with pytest.raises(ConfigError) as err:
        prepare(config, None, "fpac")
    assert str(err.value).startswith(f"{config}: aws.permissions_boundary_arn:") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_an_aws_managed_boundary_is_accepted(tmp_path):
    prepare(_config(tmp_path, permissions_boundary_arn="arn:aws:iam::aws:policy/PowerUserAccess"), None, "fpac")


def test_a_role_without_the_boundary_is_refused_before_any_aws_call(monkeypatch):
    from deploy.projects.fpac_pipeline import deploy as fpac

    original = fpac.build_specs

    def without_boundary(ctx):
        import dataclasses
        return [dataclasses.replace(s, permissions_boundary="") if isinstance(s, RoleSpec) and s.component == "validate" else s
                for s in original(ctx)]

    monkeypatch.setattr(fpac, "build_specs", without_boundary)
    with pytest.raises(ProjectError, match=r"^iam_role:fpac-dev-validate-role: permissions_boundary is not set; every role must "
                                           r"carry the environment's boundary arn:aws:iam::111111111111:policy/pipeline-boundary-dev"):
        prepare(CONFIG_DIR / "dev.json", None, "fpac")


def test_a_role_created_before_the_boundary_is_refused(monkeypatch):
    from deploy.projects.fpac_pipeline import deploy as fpac

    original = fpac.build_specs

    def no_dependency(ctx):
        import dataclasses
        return [dataclasses.replace(s, depends_on=()) if isinstance(s, RoleSpec) and s.component == "workflow" else s
                for s in original(ctx)]

    monkeypatch.setattr(fpac, "build_specs", no_dependency)
    with pytest.raises(ProjectError, match="iam_role:fpac-dev-workflow-role: must depend on iam_policy:pipeline-boundary-dev"):
        prepare(CONFIG_DIR / "dev.json", None, "fpac")


def test_the_boundary_covers_every_project_of_the_config(monkeypatch):
    captured = {}
    original = preparation.boundary_document

    def spy(arns, environment, projects, buckets):
        captured.update(projects=list(projects), buckets=list(buckets))
        return original(arns, environment, projects, buckets)

    monkeypatch.setattr(preparation, "boundary_document", spy)
    prepare(CONFIG_DIR / "prod.json", "us-east-2", "fpac")
    assert captured == {"projects": ["fpac"], "buckets": ["acme-fpac-prod-data-333333333333-us-east-2",
                                                          "acme-pipelines-prod-artifacts-333333333333-us-east-2"]}


@pytest.mark.parametrize("config, region", SHIPPED)
def test_every_role_policy_is_within_the_boundary(config, region):
    """A role asking for more than its boundary would be denied at run time: evaluated, each action on each of its
    resources of a type the action takes (a wildcard in a resource taken as some name) must be allowed by the
    boundary, and each action must have such a resource."""
    from iam_evaluator import ALLOWED, Query, Request, evaluate

    prepared = prepare(CONFIG_DIR / config, region, "fpac")
    boundary = _boundary(prepared)
    queries, grants = [], []
    for role in (s for s in prepared.specs if isinstance(s, RoleSpec)):
        for document in role.policies.values():
            for stmt in document["Statement"]:
                resources = [stmt["Resource"]] if isinstance(stmt["Resource"], str) else stmt["Resource"]
                for action in stmt["Action"]:
                    grants.append((role.name, stmt["Sid"], action))
                    for resource in resources:
                        concrete = resource if resource == "*" else resource.replace("*", "x")
                        queries.append(Query(Request(action, concrete, call=f"{role.name} {stmt['Sid']}"), ("boundary",)))
    decisions = evaluate({"boundary": boundary.document}, queries, prepared.config.account_id, invalid="report")
    outside = [str(q.request) for q, d in zip(queries, decisions) if d != ALLOWED and d != 'invalid: {"message":"no.resource.types"}']
    assert not outside, outside
    applicable = {(q.request.call, q.request.action) for q, d in zip(queries, decisions) if d == ALLOWED}
    assert not [g for g in grants if (f"{g[0]} {g[1]}", g[2]) not in applicable]
    assert len(grants) > 60


def test_a_role_asking_for_more_than_the_boundary_is_caught():
    from iam_evaluator import ALLOWED, Query, Request, evaluate

    prepared = prepare(CONFIG_DIR / "dev.json", None, "fpac")
    boundary = _boundary(prepared).document
    other_env = Request("s3:GetObject", "arn:aws:s3:::acme-fpac-prod-data-333333333333/incoming/x")
    iam = Request("iam:PassRole", "arn:aws:iam::111111111111:role/fpac-dev-validate-role")
    inside = Request("lambda:InvokeFunction", "arn:aws:lambda:us-east-2:111111111111:function:fpac-dev-validate:live")
    decisions = evaluate({"b": boundary}, [Query(r, ("b",)) for r in (other_env, iam, inside)], "111111111111")
    assert decisions[:2] == ["ImplicitlyDenied", "ImplicitlyDenied"] and decisions[2] == ALLOWED
