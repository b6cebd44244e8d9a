"""Step Functions status events -> EventBridge -> SNS (through the topic policy) -> subscribers, and SNS
subscriptions that wait for their owner's confirmation: what a failure notification needs from the local AWS."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .support import create_role, wait_until

DETAIL_TYPE = "Step Functions Execution Status Change"
FAILS = json.dumps({"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "RunFailed", "Cause": "bad file"}}})
SUCCEEDS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}})
WAITS = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}})


class Aws:
    def __init__(self, client: Callable[..., Any]):
        self.sfn, self.events, self.sns, self.sqs = (client(n) for n in ("stepfunctions", "events", "sns", "sqs"))
        self.role = create_role(client("iam"))

    def machine(self, name: str, definition: str) -> str:
        return self.sfn.create_state_machine(name=name, definition=definition, roleArn=self.role)["stateMachineArn"]

    def queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        return url, self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def failures_topic(self, rule: str, machine: str, policy_rule: str | None = None) -> tuple[str, str]:
        """A topic told by ``rule`` of the machine's failed runs (its policy naming ``policy_rule``, default the
        rule itself), with an SQS queue subscribed; returns (topic ARN, queue URL)."""
        topic = self.sns.create_topic(Name=f"{rule}-topic")["TopicArn"]
        rule_arn = self.events.put_rule(Name=rule, State="ENABLED", EventPattern=json.dumps({
            "source": ["aws.states"], "detail-type": [DETAIL_TYPE],
            "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [machine]}}))["RuleArn"]
        if policy_rule != "":
            self.sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
                    "Resource": topic, "Condition": {"ArnEquals": {"aws:SourceArn": policy_rule or rule_arn}}}]}))
        self.events.put_targets(Rule=rule, Targets=[{"Id": "topic", "Arn": topic}])
        url, queue = self.queue(f"{rule}-inbox")
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
        return topic, url

    def messages(self, url: str, wait: float = 0) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait)).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    def ended(self, execution: str) -> dict[str, Any]:
        return wait_until(lambda: (d := self.sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
                          timeout=15, what=f"end of {execution}")


@pytest.fixture
def aws(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> Aws:
    return Aws(local_aws_client)


def test_a_failed_execution_reaches_the_topics_sqs_subscriber_as_aws_sends_it(aws: Aws) -> None:
    machine = aws.machine("fails", FAILS)
    topic, inbox = aws.failures_topic("fails-failures", machine)
    execution = aws.sfn.start_execution(stateMachineArn=machine, name="run-1", input='{"key": "incoming/x.csv"}')["executionArn"]
    described = aws.ended(execution)

    (envelope,) = wait_until(lambda: aws.messages(inbox), timeout=10, what="the SNS message in the queue")
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    event = json.loads(envelope["Message"])
    assert event["source"] == "aws.states" and event["detail-type"] == DETAIL_TYPE
    assert event["resources"] == [execution] and event["region"] == "us-east-2" and "ingestion-time" not in event
    detail = event["detail"]
    assert detail["executionArn"] == execution and detail["stateMachineArn"] == machine and detail["name"] == "run-1"
    assert (detail["status"], detail["error"], detail["cause"]) == ("FAILED", "RunFailed", "bad file")
    assert json.loads(detail["input"]) == {"key": "incoming/x.csv"} and detail["output"] is None
    assert detail["startDate"] == int(described["startDate"].timestamp() * 1000)
    assert detail["stopDate"] >= detail["startDate"]


def test_every_status_change_is_an_event_running_first(aws: Aws) -> None:
    machine = aws.machine("succeeds", SUCCEEDS)
    url, queue = aws.queue("all-statuses")
    aws.events.put_rule(Name="all", State="ENABLED", EventPattern=json.dumps({"source": ["aws.states"]}))
    aws.events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": queue}])  # moto's own SQS delivery
    execution = aws.sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    aws.ended(execution)

    events = wait_until(lambda: (got := aws.messages(url)) and len(got) == 2 and got, timeout=10, what="two events")
    assert [e["detail"]["status"] for e in events] == ["RUNNING", "SUCCEEDED"]
    running, succeeded = (e["detail"] for e in events)
    assert running["stopDate"] is None and running["output"] is None
    assert json.loads(succeeded["output"]) == {"ok": 1} and succeeded["outputDetails"] == {"included": True}
    assert succeeded["error"] is None and all(e["resources"] == [execution] for e in events)


def test_a_succeeded_execution_sends_no_failure_notification(aws: Aws) -> None:
    machine = aws.machine("fine", SUCCEEDS)
    _, inbox = aws.failures_topic("fine-failures", machine)
    aws.ended(aws.sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"])
    time.sleep(0.5)
    assert aws.messages(inbox) == []


def test_an_aborted_execution_is_notified(aws: Aws) -> None:
    machine = aws.machine("waits", WAITS)
    _, inbox = aws.failures_topic("waits-failures", machine)
    execution = aws.sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    aws.sfn.stop_execution(executionArn=execution, error="Stopped", cause="by hand")
    assert aws.ended(execution)["status"] == "ABORTED"
    (envelope,) = wait_until(lambda: aws.messages(inbox), timeout=10, what="the ABORTED notification")
    assert json.loads(envelope["Message"])["detail"]["status"] == "ABORTED"


@pytest.mark.parametrize("policy_rule", ["", "arn:aws:events:us-east-2:123456789012:rule/another"],
                         ids=["default-topic-policy", "policy-for-another-rule"])
def test_a_topic_whose_policy_does_not_let_the_rule_publish_gets_nothing(aws: Aws, policy_rule: str) -> None:
    machine = aws.machine("unheard", FAILS)
    topic, inbox = aws.failures_topic("unheard-failures", machine, policy_rule=policy_rule)
    aws.ended(aws.sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"])
    time.sleep(0.5)
    assert aws.messages(inbox) == []
    # The same topic, once its policy names the rule, is told of the next failure.
    aws.sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish", "Resource": topic,
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-2:123456789012:rule/unheard-failures"}}}]}))
    aws.ended(aws.sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"])
    assert wait_until(lambda: aws.messages(inbox), timeout=10, what="the notification once allowed")


@pytest.fixture
def http_endpoint() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server recording every request it gets."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    server.shutdown()


def test_email_and_http_subscriptions_stay_pending_and_receive_nothing(aws: Aws, http_endpoint: tuple[str, list[str]]) -> None:
    url, seen = http_endpoint
    topic = aws.sns.create_topic(Name="pending")["TopicArn"]
    inbox, queue = aws.queue("confirmed")
    assert aws.sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")["SubscriptionArn"] == "pending confirmation"
    http_arn = aws.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url, ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert http_arn.startswith(f"{topic}:")
    sqs_arn = aws.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)["SubscriptionArn"]
    assert sqs_arn.startswith(f"{topic}:")  # same-account SQS: confirmed at once

    listed = {s["Protocol"]: s["SubscriptionArn"] for s in aws.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert listed == {"email": "PendingConfirmation", "http": "PendingConfirmation", "sqs": sqs_arn}
    # Subscribing again changes nothing: still one pending subscription per endpoint.
    aws.sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    assert len(aws.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 3

    aws.sns.publish(TopicArn=topic, Message="hello")
    assert [m["Message"] for m in wait_until(lambda: aws.messages(inbox), timeout=5, what="the SQS copy")] == ["hello"]
    time.sleep(0.3)
    assert seen == []  # the pending http subscription got no POST

    with pytest.raises(ClientError) as err:
        aws.sns.unsubscribe(SubscriptionArn="PendingConfirmation")
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    aws.sns.unsubscribe(SubscriptionArn=sqs_arn)
    assert {s["Protocol"] for s in aws.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]} == {"email", "http"}
