"""The deployer against the local AWS's realism layer: one test per AWS behaviour, each showing the
deploy coping with it in one run (and each would fail without that handling)."""
from __future__ import annotations

import dataclasses
import threading

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.httpsession import URLLib3Session

from deploy.common import retry
from deploy.common.preparation import prepare
from deploy.common.errors import LimitError

CRAWLER = "fpac-itest-final-crawler"
RULE = "fpac-itest-incoming"


class Waits:
    """Collects the 'wait' progress events an apply reports."""

    def __init__(self):
        self.messages: list[tuple[str, str]] = []

    def __call__(self, kind, change, detail):
        if kind == "wait":
            self.messages.append((change.name, str(detail)))

    def about(self, name: str) -> list[str]:
        return [m for n, m in self.messages if n == name]


def _ops(runner, op):
    return sum(1 for _, o in runner.calls.calls if o == op)


@pytest.fixture
def budgets(monkeypatch):
    def set_(**changes):
        monkeypatch.setattr(retry, "budgets", dataclasses.replace(retry.budgets, **changes))
    return set_


def test_fresh_first_deploy_waits_out_iam_propagation_for_every_kind_then_plans_no_changes(runner, write_config, realism):
    realism(iam_propagation_seconds=3)
    config = write_config()
    waits = Waits()
    plan, result = runner.deploy(config, on_event=waits)
    assert result.ok, [o.error for o in result.failed]
    # The functions and the crawler were refused while their new roles propagated; the apply waited instead of failing.
    assert _ops(runner, "CreateFunction") > 3
    assert _ops(runner, "CreateCrawler") > 1
    assert any("IAM role propagation" in m for m in waits.about(CRAWLER))
    assert not runner.deploy(config)[0].has_changes


def test_a_state_machine_waits_for_its_changed_role_to_reach_the_log_destination(runner, write_config, realism):
    """Tracing on: the role's policy and the machine change together; Step Functions refuses the logging
    machine until the new permissions propagate ("not authorized to access the Log Destination")."""
    runner.deploy(write_config())
    realism(iam_propagation_seconds=3)
    changed = write_config(lambda d: d["projects"]["fpac"]["state_machine"].update({"tracing": True}), name="c.json")
    plan, result = runner.deploy(changed)
    assert result.ok, [o.error for o in result.failed]
    assert {c.kind for c in plan.changes if c.action == "update"} == {"iam_role", "state_machine"}
    assert _ops(runner, "UpdateStateMachine") > 1


def test_a_running_crawler_is_waited_for_then_updated(runner, write_config, realism, local_aws_client):
    runner.deploy(write_config())
    realism(crawler_run_seconds=3)
    local_aws_client("glue").start_crawler(Name=CRAWLER)
    changed = write_config(lambda d: d["projects"]["fpac"]["crawler"].update({"schedule": "cron(0 5 * * ? *)"}), name="c.json")
    waits = Waits()
    plan, result = runner.deploy(changed, on_event=waits)
    assert result.ok, [o.error for o in result.failed]
    assert any("is running; waiting for it to finish" in m for m in waits.about(CRAWLER))
    assert local_aws_client("glue").get_crawler(Name=CRAWLER)["Crawler"]["Schedule"]["ScheduleExpression"] == "cron(0 5 * * ? *)"


def test_a_crawler_that_keeps_running_fails_the_change_with_one_line_naming_it(runner, write_config, realism,
                                                                                 local_aws_client, budgets):
    runner.deploy(write_config())
    realism(crawler_run_seconds=30)
    local_aws_client("glue").start_crawler(Name=CRAWLER)
    budgets(crawler_running=2)
    changed = write_config(lambda d: d["projects"]["fpac"]["crawler"].update({"schedule": "cron(0 5 * * ? *)"}), name="c.json")
    plan, result = runner.deploy(changed)
    (failure,) = result.failed
    assert failure.change.name == CRAWLER
    assert f"glue crawler {CRAWLER} is still running after 2s" in failure.error and "\n" not in failure.error


def test_partially_failed_put_targets_are_retried_until_the_target_is_there(runner, write_config, realism, local_aws_client):
    realism(events_failed_calls_per_rule=2)
    plan, result = runner.deploy(write_config())
    assert result.ok, [o.error for o in result.failed]
    assert _ops(runner, "PutTargets") == 3 * 2  # each rule's (the trigger's and the failure notification's)
    for rule in (RULE, "fpac-itest-failures"):
        assert [t["Id"] for t in local_aws_client("events").list_targets_by_rule(Rule=rule)["Targets"]] == ["primary"]


def test_put_targets_that_keep_failing_are_an_error_naming_rule_target_and_code(runner, write_config, realism, budgets):
    realism(events_failed_calls_per_rule=1000)
    budgets(partial_failure=2)
    plan, result = runner.deploy(write_config())
    assert result.failed  # each rule that got to PutTargets (the trigger's, the failure notification's)
    for failure in result.failed:
        assert failure.change.name in (RULE, "fpac-itest-failures")
        assert failure.error == (f"event_rule {failure.change.name}: PutTargets failed for target primary: "
                                 "ConcurrentModificationException: Too many requests were made at the same time.")


def test_after_a_state_machine_update_the_next_plan_sees_it(runner, write_config, realism):
    config = write_config()
    runner.deploy(config)
    realism(sfn_stale_read_seconds=3)
    changed = write_config(lambda d: d["projects"]["fpac"]["state_machine"].update({"log_level": "ERROR"}), name="c.json")
    plan, result = runner.deploy(changed)
    assert result.ok and [c.kind for c in plan.changes if c.action == "update"] == ["state_machine"]
    assert not runner.deploy(changed)[0].has_changes, "a plan right after the apply must not see the old definition"


def test_taking_the_lock_right_after_its_release_retries_the_409(runner, write_config, realism):
    realism(s3_conflict_seconds=10)
    config = write_config()
    runner.deploy(config)  # releases the lock: DeleteObject of lock.json
    lock_puts = []

    def count_lock_puts(params, **_):
        if params.get("Key", "").endswith("/lock.json"):
            lock_puts.append(params["Key"])

    changed = write_config(lambda d: d["projects"]["fpac"]["glue_defaults"].update({"timeout_minutes": 45}), name="c.json")
    plan, result = runner.deploy(changed, hooks=[("before-parameter-build.s3.PutObject", count_lock_puts)])
    assert result.ok, [o.error for o in result.failed]
    assert len(lock_puts) == 2, "the first conditional put met the 409 and was retried"


def test_a_create_whose_answer_was_lost_is_adopted_not_failed(runner, write_config):
    """AWS created the role and the function, but the answers timed out; botocore's retry then meets
    EntityAlreadyExists / ResourceConflictException. The resources carry our tags: adopt and converge."""
    lost: set[str] = set()
    lock = threading.Lock()
    sender = URLLib3Session()

    def lose_first_answer(request, **kwargs):
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        key = kwargs.get("event_name", "")
        with lock:
            if b"fpac-itest-validate" not in body or key in lost:
                return None
            lost.add(key)
        sender.send(request)  # AWS does the work ...
        raise ReadTimeoutError(endpoint_url=request.url)  # ... and the answer never arrives

    config = write_config()
    plan, result = runner.deploy(config, hooks=[("before-send.iam.CreateRole", lose_first_answer),
                                                ("before-send.lambda.CreateFunction", lose_first_answer)])
    assert result.ok, [o.error for o in result.failed]
    assert len(lost) == 2, lost
    assert not runner.deploy(config)[0].has_changes


def test_a_create_that_meets_someone_elses_resource_fails_naming_it(runner, write_config, local_aws_client):
    """Someone else creates the log group after our plan was checked under the lock, just before our create."""
    group = "/aws/lambda/fpac-itest-validate"
    logs = local_aws_client("logs")

    def someone_else_first(params, **_):
        if params.get("logGroupName") == group:
            logs.create_log_group(logGroupName=group, tags={"deployer:project": "billing"})

    plan, result = runner.deploy(write_config(), hooks=[("before-parameter-build.cloudwatch-logs.CreateLogGroup",
                                                         someone_else_first)])
    (failure,) = result.failed
    assert failure.change.name == group
    assert failure.error == (f"log_group {group} already exists and is not ours (owner tags: billing/?); "
                             "remove it or choose another name in the config")


def test_reserved_concurrency_beyond_the_account_limit_fails_the_plan_before_any_write(runner, write_config, realism):
    realism(lambda_concurrency_limit=120)
    config = write_config(lambda d: d["projects"]["fpac"].setdefault("functions", {}).update(
        {"Validate": {"reserved_concurrency": 30}}))
    engine = runner.engine(prepare(config, "us-east-2", "fpac"))
    with pytest.raises(LimitError, match=r"lambda_function fpac-itest-validate: reserved_concurrency 30 would leave 90 of "
                                         r"the account's 120 concurrent executions unreserved"):
        engine.plan(prepare(config, "us-east-2", "fpac").specs)
    assert runner.calls.writes == []


def test_following_a_run_stays_within_tight_step_functions_throttles(clean_aws_endpoint, realism, local_aws_client):
    """GetExecutionHistory/ListExecutions limited to a few calls a second: `run`'s follower reads only new
    events and backs off, and botocore's retry mode absorbs what is still throttled."""
    import datetime as dt
    import json

    from deploy.common.aws_common import AwsClients, AwsTarget, CallLog
    from deploy.common.execution_watch import follow_execution, wait_for_execution

    realism(iam_propagation_seconds=0, throttles={"states:GetExecutionHistory": [2, 0.5], "states:ListExecutions": [2, 0.5]})
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                                                      "Action": "sts:AssumeRole"}]}
    role = local_aws_client("iam").create_role(RoleName="follow", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    definition = {"StartAt": "First", "States": {"First": {"Type": "Wait", "Seconds": 2, "Next": "Second"},
                                                 "Second": {"Type": "Wait", "Seconds": 2, "Next": "Done"},
                                                 "Done": {"Type": "Succeed"}}}
    machine = local_aws_client("stepfunctions").create_state_machine(
        name="follow", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    local_aws_client("stepfunctions").start_execution(stateMachineArn=machine, input="{}")

    calls = CallLog()
    throttled = []

    def count_throttles(response=None, **_):
        if response and (response[1] or {}).get("Error", {}).get("Code") == "ThrottlingException":
            throttled.append(1)

    sfn = AwsClients(AwsTarget(region="us-east-2", endpoint_url=clean_aws_endpoint), call_log=calls,
                     event_hooks=[("needs-retry.sfn", count_throttles)]).client("stepfunctions")
    seen = []
    arn = wait_for_execution(sfn, machine, started_after=started, timeout=30)
    final = follow_execution(sfn, arn, seen.append, timeout=60)
    assert final["status"] == "SUCCEEDED"
    entered = [e["stateEnteredEventDetails"]["name"] for e in seen if e["type"].endswith("StateEntered")]
    assert entered == ["First", "Second", "Done"], "each event once, in order"
    assert sum(1 for _, op in calls.calls if op == "GetExecutionHistory") <= 12
    assert throttled, "the bucket was small enough that some reads were throttled, and retried"
