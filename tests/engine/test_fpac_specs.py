"""The fpac project's desired state: pure, environment-isolated, least-privilege."""
from pathlib import Path

import pytest

from deploy.common.preparation import prepare
from deploy.common.errors import ProjectError
from deploy.common.iam_policies import check_policies, lint_policy, policy, statement
from deploy.common.kinds.glue_job import GlueJobSpec
from deploy.common.kinds.iam_role import RoleSpec
from deploy.common.kinds.lambda_function import FunctionSpec
from deploy.common.kinds.state_machine import StateMachineSpec

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
STAR_ALLOWED = {"LogDelivery", "Tracing"}  # AWS only accepts Resource "*" for these actions


@pytest.fixture(scope="module")
def dev():
    return prepare(CONFIG_DIR / "dev.json", "us-east-2", "fpac")


@pytest.fixture(scope="module")
def prod():
    return prepare(CONFIG_DIR / "prod.json", "us-west-2", "fpac")


def test_environments_share_no_resource_names(dev, prod):
    dev_names = {s.name for s in dev.specs}
    prod_names = {s.name for s in prod.specs}
    assert dev_names.isdisjoint(prod_names)
    assert len(dev.specs) == len(prod.specs), "only config differs between environments, not the resource set"


def test_config_values_reach_the_specs(prod):
    fns = {s.name: s for s in prod.specs if isinstance(s, FunctionSpec)}
    assert fns["fpac-prod-validate"].memory_mb == 1024 and fns["fpac-prod-validate"].reserved_concurrency == 20
    assert fns["fpac-prod-createnewid"].memory_mb == 512
    jobs = {s.name: s for s in prod.specs if isinstance(s, GlueJobSpec)}
    assert jobs["fpac-prod-cleaning"].number_of_workers == 20 and jobs["fpac-prod-landing"].number_of_workers == 10
    assert jobs["fpac-prod-final"].worker_type == "G.2X" and jobs["fpac-prod-final"].glue_version == "5.0"


def test_every_role_is_scoped_to_arns(dev):
    roles = [s for s in dev.specs if isinstance(s, RoleSpec)]
    assert len(roles) == 9
    for role in roles:
        for doc in role.policies.values():
            for stmt in doc["Statement"]:
                if stmt["Sid"] in STAR_ALLOWED:
                    continue
                resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
                assert all(r.startswith("arn:aws:") and r != "*" for r in resources), (role.name, stmt)
                assert not any(a.endswith(":*") or a == "*" for a in stmt["Action"]), (role.name, stmt)


def test_state_machine_may_invoke_only_its_own_functions(dev):
    sm_role = next(s for s in dev.specs if isinstance(s, RoleSpec) and s.name == "fpac-dev-workflow-role")
    invoke = next(st for st in sm_role.policies["least-privilege"]["Statement"] if st["Sid"] == "InvokePipelineFunctions")
    assert sorted(invoke["Resource"]) == sorted(
        f"arn:aws:lambda:us-east-2:111111111111:function:fpac-dev-{n}:live" for n in ("validate", "createnewid", "logresults"))
    sm = next(s for s in dev.specs if isinstance(s, StateMachineSpec))
    text = str(sm.definition)
    assert all(r in text for r in invoke["Resource"]), "the ASL uses exactly the ARNs the role allows"


def test_parliament_catches_a_misspelled_action_and_a_needless_star():
    bad = policy(statement("Oops", ["s3:GetObjectt"], ["arn:aws:s3:::b/*"]))
    assert any("UNKNOWN_ACTION" in f for f in lint_policy("r", "p", bad))
    star = policy(statement("Star", ["s3:GetObject"], "*"))
    with pytest.raises(ProjectError, match="IAM policy lint failed: r/p: RESOURCE_STAR"):
        check_policies([("r", {"p": star})])


def test_validate_lints_the_workflow_with_statelint(monkeypatch):
    """A Next naming a state that does not exist fails validate: one line, the project and the machine named."""
    from click.testing import CliRunner

    from deploy.cli import cli
    from deploy.projects.fpac_pipeline import fpac_stepfunctions

    original = fpac_stepfunctions.build_definition

    def broken(refs):
        definition = original(refs)
        definition["States"][definition["StartAt"]]["Next"] = "NoSuchState"
        return definition

    monkeypatch.setattr(fpac_stepfunctions, "build_definition", broken)
    result = CliRunner().invoke(cli, ["validate", "--config", str(CONFIG_DIR / "local.json"), "--project-type", "fpac"])
    assert result.exit_code == 1
    assert "project 'fpac': state_machine fpac-local-workflow: No state found named \"NoSuchState\"" in result.stderr


def test_the_project_owns_its_run_summary():
    """fpac's summarize_run reads its own record fields; the renderer knows none of them."""
    import io

    from rich.console import Console

    from deploy.common.pipeline_run import RunResult
    from deploy.common.render import Renderer
    from deploy.projects.fpac_pipeline.deploy import summarize_run

    record = {"failed_stage": None, "row_counts": {"in": 35, "clean": 18, "final": None},
              "reject_reasons": {"negative_payment_amount": 1}, "outputs": {"final": "s3://b/final/run_id=1/"}}
    assert summarize_run(record) == ["rows: in=35, clean=18", "  rejected 1 × negative_payment_amount",
                                     "final      s3://b/final/run_id=1/"]
    result = RunResult("arn:exec", "SUCCEEDED", "s3://b/incoming/x.csv", {"LogSuccess": {"result_path": "s3://b/r.json"}}, record)
    out = io.StringIO()
    Renderer(Console(file=out, width=200)).run_summary(result)
    assert "rows:" not in out.getvalue() and "LogSuccess" in out.getvalue(), "without the project's summary: the reports"
    out = io.StringIO()
    Renderer(Console(file=out, width=200)).run_summary(result, summarize_run)
    assert "rows: in=35, clean=18" in out.getvalue()


def test_failed_runs_go_to_the_failures_topic_with_the_configs_subscribers(prod):
    from deploy.common.kinds.event_rule import EventRuleSpec
    from deploy.common.kinds.sns_topic import TopicSpec

    (topic,) = [s for s in prod.specs if isinstance(s, TopicSpec)]
    rule = next(s for s in prod.specs if isinstance(s, EventRuleSpec) and s.name == "fpac-prod-failures")
    sm = next(s for s in prod.specs if isinstance(s, StateMachineSpec))
    assert topic.name == "fpac-prod-failures" and topic.component == rule.component == "failures"
    assert topic.subscriptions == (("email", "data-eng-oncall@example.com"), ("email", "fpac-owners@example.com"),
                                   ("https", "https://alerts.example.com/sns/fpac-prod"))
    rule_arn = "arn:aws:events:us-west-2:333333333333:rule/fpac-prod-failures"
    assert topic.publishers == (("events.amazonaws.com", rule_arn),)  # the topic policy: this rule only
    assert rule.event_pattern == {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                                  "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [sm.arn]}}
    assert rule.target_arn == "arn:aws:sns:us-west-2:333333333333:fpac-prod-failures" and rule.target_role_arn == ""
    assert rule.depends_on == (topic.key,)  # deleted before the topic


def test_no_subscribers_is_a_topic_without_subscriptions():
    from deploy.common.kinds.sns_topic import TopicSpec

    local = prepare(CONFIG_DIR / "local.json", "us-east-2", "fpac")
    (topic,) = [s for s in local.specs if isinstance(s, TopicSpec)]
    assert topic.name == "fpac-local-failures" and topic.subscriptions == ()
