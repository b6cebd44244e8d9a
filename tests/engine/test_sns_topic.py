"""The sns_topic kind: one module (deploy/common/kinds/sns_topic.py), registered by being there. Its handler against
botocore's Stubber (real response shapes, exact request sequences), what validate checks, what the deployer policy
grants for it."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from deploy.common import aws_rules
from deploy.common.config import EnvironmentConfig
from deploy.common.deployer_policy import ACCEPTED_FINDINGS, READ, WRITE
from deploy.common.iam_policies import Accepted, merged
from deploy.common.kinds import KINDS
from deploy.common.kinds.event_rule import EventRuleHandler, EventRuleSpec
from deploy.common.kinds.sns_topic import PENDING, TopicHandler, TopicSpec, topic_arn, topic_policy
from deploy.common.naming import Arns
from deploy.common.plan import diff_fields
from deploy.common.snapshot import spec_from_json, spec_to_json
from deploy.common.tagging import comparable_tags

ARNS = Arns("us-east-2", "111111111111")
TOPIC = topic_arn(ARNS, "fpac-dev-failures")
RULE = ARNS.event_rule("fpac-dev-failures")
TAGS = {"deployer:project": "fpac", "deployer:environment": "dev", "owner": "data-eng"}


def spec(*subscriptions: tuple[str, str], tags: dict[str, str] = TAGS) -> TopicSpec:
    return TopicSpec(name="fpac-dev-failures", component="notifications", tags=tags, subscriptions=subscriptions,
                     publishers=(("events.amazonaws.com", RULE),))


class Clients:
    """AwsClients' one method, each client behind a botocore Stubber."""

    def __init__(self) -> None:
        self.stubbers: dict[str, Stubber] = {}
        self._clients: dict[str, object] = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name="us-east-2", aws_access_key_id="x", aws_secret_access_key="x")
            self.stubbers[service] = Stubber(self._clients[service])
            self.stubbers[service].activate()
        return self._clients[service]

    def stub(self, service: str) -> Stubber:
        self.client(service)
        return self.stubbers[service]


def _listed(*subscriptions: tuple[str, str, str]) -> dict:
    return {"Subscriptions": [{"SubscriptionArn": arn, "Owner": "111111111111", "Protocol": protocol, "Endpoint": endpoint,
                               "TopicArn": TOPIC} for protocol, endpoint, arn in subscriptions]}


def _stub_read(sns: Stubber, policy: dict, subscriptions: dict, tags: dict[str, str]) -> None:
    sns.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC, "Policy": json.dumps(policy)}}, {"TopicArn": TOPIC})
    sns.add_response("list_subscriptions_by_topic", subscriptions, {"TopicArn": TOPIC})
    sns.add_response("list_tags_for_resource", {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}, {"ResourceArn": TOPIC})


def test_the_kind_is_registered_with_its_actions_and_tag_limit():
    kind = KINDS["sns_topic"]
    assert kind.spec is TopicSpec and kind.handler is TopicHandler
    assert READ["sns_topic"] == ("sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource")
    assert set(WRITE["sns_topic"]) == {"sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe",
                                       "sns:Unsubscribe", "sns:TagResource", "sns:UntagResource"}
    assert kind.tag_limit == (50, "SNS topics")
    assert kind.arns(spec(), ARNS, lambda name: name.replace("failures", "*")) == ["arn:aws:sns:us-east-2:111111111111:fpac-dev-*"]


def test_the_topic_policy_lets_only_the_rule_publish_through_eventbridge():
    policy = topic_policy(TOPIC, (("events.amazonaws.com", RULE),))
    assert policy["Statement"] == [{
        "Sid": "PublishEvents", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
        "Resource": TOPIC, "Condition": {"ArnEquals": {"aws:SourceArn": [RULE]}}}]


def test_create_makes_the_topic_with_tags_then_its_policy_then_each_subscription():
    clients = Clients()
    sns = clients.stub("sns")
    sns.add_response("create_topic", {"TopicArn": TOPIC},
                     {"Name": "fpac-dev-failures", "Tags": [{"Key": k, "Value": v} for k, v in sorted(TAGS.items())]})
    sns.add_response("set_topic_attributes", {}, {"TopicArn": TOPIC, "AttributeName": "Policy",
                                                  "AttributeValue": json.dumps(topic_policy(TOPIC, spec().publishers))})
    sns.add_response("subscribe", {"SubscriptionArn": "pending confirmation"},
                     {"TopicArn": TOPIC, "Protocol": "email", "Endpoint": "ops@example.com"})
    sns.add_response("subscribe", {"SubscriptionArn": "pending confirmation"},
                     {"TopicArn": TOPIC, "Protocol": "https", "Endpoint": "https://alerts.example.com/x"})
    TopicHandler(clients, ARNS).create(spec(("https", "https://alerts.example.com/x"), ("email", "ops@example.com")))
    sns.assert_no_pending_responses()


def test_a_pending_subscription_the_spec_wants_counts_as_there_and_one_it_no_longer_wants_is_left_to_expire():
    clients = Clients()
    handler = TopicHandler(clients, ARNS)
    wanted = spec(("email", "ops@example.com"))
    _stub_read(clients.stub("sns"), topic_policy(TOPIC, wanted.publishers), _listed(
        ("email", "ops@example.com", PENDING), ("email", "gone@example.com", PENDING)), {**TAGS, "deployer:git-commit": "old"})
    current = handler.read(wanted)
    assert current["subscriptions"] == [["email", "ops@example.com"]]
    assert diff_fields({**current, "tags": comparable_tags(current["tags"])}, handler.desired_with_tags(wanted)) == ()


def test_a_topic_that_does_not_exist_reads_as_none():
    clients = Clients()
    clients.stub("sns").add_client_error("get_topic_attributes", service_error_code="NotFound", http_status_code=404)
    assert TopicHandler(clients, ARNS).read(spec()) is None
    clients.stub("sns").add_client_error("list_tags_for_resource", service_error_code="ResourceNotFound", http_status_code=404)
    assert TopicHandler(clients, ARNS).read_tags("fpac-dev-failures") is None


def test_a_subscriber_change_subscribes_the_new_and_unsubscribes_only_confirmed_old_ones():
    clients = Clients()
    handler = TopicHandler(clients, ARNS)
    old_sqs = f"{TOPIC}:1b2c"
    existing = _listed(("email", "ops@example.com", PENDING), ("sqs", "arn:aws:sqs:us-east-2:111111111111:q", old_sqs),
                       ("email", "left@example.com", PENDING))
    wanted = spec(("email", "ops@example.com"), ("https", "https://alerts.example.com/x"))
    sns = clients.stub("sns")
    _stub_read(sns, topic_policy(TOPIC, wanted.publishers), existing, TAGS)
    changes = diff_fields(handler.read(wanted), handler.desired(wanted))
    assert [c.field for c in changes] == ["subscriptions"] and changes[0].old == [
        ["email", "ops@example.com"], ["sqs", "arn:aws:sqs:us-east-2:111111111111:q"]]

    sns.add_response("list_subscriptions_by_topic", existing, {"TopicArn": TOPIC})
    sns.add_response("subscribe", {"SubscriptionArn": "pending confirmation"},
                     {"TopicArn": TOPIC, "Protocol": "https", "Endpoint": "https://alerts.example.com/x"})
    sns.add_response("unsubscribe", {}, {"SubscriptionArn": old_sqs})  # never the pending ones: they have no ARN
    sns.add_response("list_tags_for_resource", {"Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()]}, {"ResourceArn": TOPIC})
    handler.update(wanted, changes)
    sns.assert_no_pending_responses()


def test_a_policy_and_tag_change_rewrites_the_policy_and_the_tags_only():
    clients = Clients()
    handler = TopicHandler(clients, ARNS)
    wanted = spec(tags={**TAGS, "owner": "platform"})
    sns = clients.stub("sns")
    _stub_read(sns, {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": []}, _listed(), TAGS)
    current = handler.read(wanted)
    changes = diff_fields({**current, "tags": comparable_tags(current["tags"])}, handler.desired_with_tags(wanted))
    assert sorted(c.field for c in changes) == ["policy", "tags"]
    sns.add_response("set_topic_attributes", {}, {"TopicArn": TOPIC, "AttributeName": "Policy",
                                                  "AttributeValue": json.dumps(topic_policy(TOPIC, wanted.publishers))})
    sns.add_response("list_tags_for_resource", {"Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()]}, {"ResourceArn": TOPIC})
    sns.add_response("tag_resource", {}, {"ResourceArn": TOPIC, "Tags": [{"Key": "owner", "Value": "platform"}]})
    handler.update(wanted, changes)
    sns.assert_no_pending_responses()


def test_delete_deletes_the_topic_and_with_it_its_subscriptions():
    clients = Clients()
    clients.stub("sns").add_response("delete_topic", {}, {"TopicArn": TOPIC})
    TopicHandler(clients, ARNS).delete("fpac-dev-failures")
    clients.stub("sns").assert_no_pending_responses()


def test_a_snapshot_round_trip_desires_the_same():
    original = spec(("email", "ops@example.com"), ("https", "https://alerts.example.com/x"))
    restored = spec_from_json(json.loads(json.dumps(spec_to_json(original))))
    handler = TopicHandler(Clients(), ARNS)
    assert isinstance(restored, TopicSpec) and handler.desired(restored) == handler.desired(original)


def test_validate_checks_the_requests_and_the_limits_sns_documents():
    config = EnvironmentConfig(environment="dev", account_id="111111111111", regions=["us-east-2"], artifact_bucket="acme-a")
    assert aws_rules.problems([spec(("email", "ops@example.com"))], config, "us-east-2") == []
    bad = TopicSpec(name="fpac.dev failures", component="c", tags=TAGS, subscriptions=(("mail", "x"), ("sqs", "not-an-arn")))
    texts = [p.text for p in aws_rules.problems([bad], config, "us-east-2")]
    assert texts == [
        "sns_topic fpac.dev failures: a topic name is 1 to 256 letters, digits, hyphens and underscores",
        "sns_topic fpac.dev failures: subscription protocol 'mail' is not one of SNS's (application, email, email-json, "
        "firehose, http, https, lambda, sms, sqs)",
        "sns_topic fpac.dev failures: a sqs subscription's endpoint must be an SQS queue ARN, not 'not-an-arn'",
        "sns_topic fpac.dev failures: the topic policy names no publisher (service, source ARN): nothing could publish to it",
    ]
    too_many = spec(tags={f"t{i}": "v" for i in range(51)})
    assert any("SNS topics take at most 50" in p.text for p in aws_rules.problems([too_many], config, "us-east-2"))


def test_the_kinds_reviewed_findings_are_accepted_together_with_the_others():
    """parliament reports PERMISSIONS_MANAGEMENT_ACTIONS once per policy, listing every kind's actions: the kind's
    own acceptance (topic policies) is merged into the central one, never accepted on its own."""
    (permissions,) = [a for a in ACCEPTED_FINDINGS if a.issue == "PERMISSIONS_MANAGEMENT_ACTIONS"]
    assert {"iam:createrole", "sns:createtopic", "sns:settopicattributes"} <= permissions.location["actions"]
    def finding(*actions: str):
        return type("F", (), {"issue": "PERMISSIONS_MANAGEMENT_ACTIONS", "location": {"actions": list(actions)}, "detail": None})()

    assert permissions.matches(finding("iam:passrole", "sns:settopicattributes"))
    assert not permissions.matches(finding("iam:passrole", "sns:addpermission"))  # nobody accepted that one
    a, b = Accepted("X", {"actions": frozenset({"a"}), "type": "t"}, "r1"), Accepted("X", {"actions": frozenset({"b"}), "type": "t"}, "r2")
    assert merged([a, b]) == (Accepted("X", {"actions": frozenset({"a", "b"}), "type": "t"}, "r1; r2"),)
    assert len(merged([a, Accepted("X", {"actions": frozenset({"b"}), "type": "other"}, "r3")])) == 2


def test_a_rule_targeting_a_topic_passes_no_role():
    rule = EventRuleSpec(name="r", component="c", target_arn=TOPIC, event_pattern={"source": ["aws.states"]})
    assert EventRuleHandler.put_targets_kwargs(rule)["Targets"] == [{"Id": "primary", "Arn": TOPIC}]
    assert EventRuleHandler(Clients(), ARNS).desired(rule)["targets"] == [{"Id": "primary", "Arn": TOPIC, "RoleArn": None}]
    assert aws_rules.check_request("events", "PutTargets", EventRuleHandler.put_targets_kwargs(rule)) == []
