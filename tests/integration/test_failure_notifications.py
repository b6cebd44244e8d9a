"""Failure notifications end to end on the local AWS: the topic and its rule deployed with the config's subscribers,
a redeploy that writes nothing, a subscriber change that touches the topic only, destroy, and a failed run whose
notification reaches a subscriber."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from deploy.cli import cli
from deploy.common.preparation import prepare
from deploy.common.plan import RECORD_KIND
from deploy.common.pipeline_run import run_pipeline
from deploy.projects.fpac_pipeline.deploy import run_target

SAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "projects" / "fpac_pipeline" / "sample_data"
TOPIC = "arn:aws:sns:us-east-2:123456789012:fpac-itest-failures"
RULE = "arn:aws:events:us-east-2:123456789012:rule/fpac-itest-failures"
MACHINE = "arn:aws:states:us-east-2:123456789012:stateMachine:fpac-itest-workflow"


def _subscribers(email: list[str], https: list[str] = ()):
    def mutate(doc):
        doc["projects"]["fpac"]["notifications"] = {"email": email, "https": list(https)}
    return mutate


def _actions(plan):
    return {(c.action, c.kind, c.name) for c in plan.changes if c.action != "no-op"}


def _subscriptions(sns) -> dict[tuple[str, str], str]:
    return {(s["Protocol"], s["Endpoint"]): s["SubscriptionArn"]
            for s in sns.list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]}


def test_deploy_creates_the_topic_and_rule_with_the_subscribers_and_a_redeploy_writes_nothing(runner, write_config,
                                                                                             local_aws_client):
    config = write_config(_subscribers(["ops@example.com"], ["https://alerts.example.com/fpac"]))
    plan, result = runner.deploy(config)
    assert result.ok, [o.error for o in result.failed]
    assert {("create", "sns_topic", "fpac-itest-failures"), ("create", "event_rule", "fpac-itest-failures")} <= _actions(plan)

    sns, events = local_aws_client("sns"), local_aws_client("events")
    assert _subscriptions(sns) == {("email", "ops@example.com"): "PendingConfirmation",
                                   ("https", "https://alerts.example.com/fpac"): "PendingConfirmation"}
    (statement,) = json.loads(sns.get_topic_attributes(TopicArn=TOPIC)["Attributes"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sns:Publish"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": [RULE]}}
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=TOPIC)["Tags"]}
    assert tags["deployer:project"] == "fpac" and tags["deployer:component"] == "failures"
    rule = events.describe_rule(Name="fpac-itest-failures")
    assert json.loads(rule["EventPattern"])["detail"] == {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [MACHINE]}
    (target,) = events.list_targets_by_rule(Rule="fpac-itest-failures")["Targets"]
    assert target["Arn"] == TOPIC and "RoleArn" not in target

    plan2, result2 = runner.deploy(config)  # the pending subscriptions count as there: no second confirmation mail
    assert not plan2.has_changes, _actions(plan2)
    assert runner.calls.writes == [], runner.calls.writes


def test_a_subscriber_change_updates_only_the_topic(runner, write_config, local_aws_client):
    runner.deploy(write_config(_subscribers(["ops@example.com", "old@example.com"])))
    sns, sqs = local_aws_client("sns"), local_aws_client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="by-hand")["QueueUrl"],
                                     AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=TOPIC, Protocol="sqs", Endpoint=queue)  # out of band, confirmed at once: the deploy removes it

    changed = write_config(_subscribers(["ops@example.com", "new@example.com"]), name="changed.json")
    plan, result = runner.deploy(changed)
    assert result.ok, [o.error for o in result.failed]
    assert _actions(plan) == {("update", "sns_topic", "fpac-itest-failures")}
    (change,) = [c for c in plan.changes if c.action == "update"]
    assert change.changed_fields == ["subscriptions"]
    ops = [op for service, op in runner.calls.writes if service == "sns"]
    assert sorted(ops) == ["Subscribe", "Unsubscribe"], ops  # new@ subscribed, the queue unsubscribed; nothing else
    # old@ is still pending: SNS cannot delete it (it expires after 48 h), so it is left alone, not looped on.
    assert set(_subscriptions(sns)) == {("email", "ops@example.com"), ("email", "new@example.com"), ("email", "old@example.com")}
    assert not runner.deploy(changed)[0].has_changes


def test_destroy_removes_the_topic_and_the_rule(runner, write_config, local_aws_client):
    config = write_config(_subscribers(["ops@example.com"]))
    runner.deploy(config)
    prepared = prepare(config, "us-east-2", "fpac")
    engine = runner.engine(prepared)
    plan = engine.plan([])
    deleted = {(c.kind, c.name) for c in plan.changes if c.action == "delete"}
    assert {("sns_topic", "fpac-itest-failures"), ("event_rule", "fpac-itest-failures")} <= deleted
    result = engine.apply(plan)
    assert result.ok, [o.error for o in result.failed]
    order = [o.change.key for o in result.outcomes if o.change.action == "delete"]
    assert order.index("event_rule:fpac-itest-failures") < order.index("sns_topic:fpac-itest-failures")
    assert local_aws_client("sns").list_topics()["Topics"] == []
    assert local_aws_client("events").list_rules()["Rules"] == []
    assert not [c for c in engine.plan([]).changes if c.kind != RECORD_KIND and c.action != "no-op"]


def test_a_rejected_file_fails_the_run_and_its_notification_reaches_a_subscriber(runner, write_config, local_aws_client):
    """Validate rejects the file, the workflow ends in RunFailed (a Fail state): the execution FAILED, Step Functions
    tells EventBridge, the rule publishes to the topic, SNS delivers to the queue subscribed here. (The queue is
    subscribed by hand, which a plan shows as drift, so the run goes through run_pipeline rather than `deploy.py
    run`, which would first refuse a deployment that differs from the code.)"""
    config = write_config()
    deployed = CliRunner().invoke(cli, ["deploy", "--config", str(config), "--region", "us-east-2", "--project-type", "fpac", "--yes"])
    assert deployed.exit_code == 0, deployed.stderr
    sns, sqs = local_aws_client("sns"), local_aws_client("sqs")
    inbox = sqs.create_queue(QueueName="fpac-failures-inbox")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=TOPIC, Protocol="sqs", Endpoint=queue)

    prepared = prepare(config, "us-east-2", "fpac")
    run = run_pipeline(runner.engine(prepared).clients, run_target(prepared.context), SAMPLES / "fpac_payments_bad_schema.csv",
                       lambda event: None, run_timeout=300)
    assert (run.status, run.error) == ("FAILED", "FpacRunFailed") and run.record["failed_stage"] == "validate"

    messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=10).get("Messages", [])
    (envelope,) = [json.loads(m["Body"]) for m in messages]
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == TOPIC
    event = json.loads(envelope["Message"])
    assert event["source"] == "aws.states" and event["detail-type"] == "Step Functions Execution Status Change"
    detail = event["detail"]
    assert detail["executionArn"] == run.execution_arn and detail["stateMachineArn"] == MACHINE
    assert detail["status"] == "FAILED" and detail["error"] == "FpacRunFailed" and "results/" in detail["cause"]
