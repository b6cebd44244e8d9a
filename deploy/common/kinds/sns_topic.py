"""SNS topics with their subscribers and a topic policy naming who may publish (e.g. an EventBridge rule).

An EventBridge rule delivers to a topic through the topic's resource policy, not through a role: the policy allows
the service principal (``events.amazonaws.com``) ``sns:Publish``, limited with ``aws:SourceArn`` to the rule's ARN
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions).

Subscriptions are compared by (protocol, endpoint). Email and HTTP(S) subscriptions stay ``PendingConfirmation``
until their owner confirms them, and a pending subscription can be neither deleted nor unsubscribed: SNS deletes it
after 48 hours (https://docs.aws.amazon.com/sns/latest/dg/sns-delete-subscription-topic.html). So a pending
subscription the spec wants counts as there (no second confirmation message on every deploy), and one it no longer
wants is left to expire rather than shown as a difference no deploy could ever remove.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from ..iam_policies import Accepted
from ..naming import Arns
from ..normalize import normalize_policy
from ..plan import FieldChange
from .base import Kind, Request, ResourceHandler, Spec, changed, missing_is_none, tag_delta

Subscription = tuple[str, str]  # (protocol, endpoint), e.g. ("email", "ops@example.com"), ("sqs", queue ARN)


@dataclass(frozen=True, eq=False)
class TopicSpec(Spec):
    """``publishers``: (service principal, source ARN) pairs the topic policy lets publish, e.g.
    ("events.amazonaws.com", the rule's ARN); ``subscriptions``: (protocol, endpoint) pairs."""

    kind: ClassVar[str] = "sns_topic"
    subscriptions: tuple[Subscription, ...] = ()
    publishers: tuple[tuple[str, str], ...] = ()


SUBSCRIPTIONS = "_subscriptions"  # read with the rest, never diffed: the listing (with ARNs), for the update
PENDING = "PendingConfirmation"  # ListSubscriptionsByTopic's SubscriptionArn for a subscription not yet confirmed
NOT_FOUND = ("NotFound", "NotFoundException", "ResourceNotFound", "ResourceNotFoundException")
# https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html: what each protocol's endpoint is.
PROTOCOLS = {"http": "an http:// URL", "https": "an https:// URL", "email": "an email address", "email-json": "an email address",
             "sms": "a phone number", "sqs": "an SQS queue ARN", "lambda": "a Lambda function ARN",
             "firehose": "a Firehose delivery stream ARN", "application": "a mobile app endpoint ARN"}
TOPIC_NAME = r"[A-Za-z0-9_-]{1,256}"  # https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html


def topic_arn(arns: Arns, name: str) -> str:
    return f"arn:{arns.partition}:sns:{arns.region}:{arns.account}:{name}"


def topic_policy(arn: str, publishers: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Each service may publish, only on behalf of the source ARNs given for it (the confused-deputy guard)."""
    by_service: dict[str, list[str]] = {}
    for service, source in publishers:
        by_service.setdefault(service, []).append(source)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Publish" + "".join(p.title() for p in service.split(".")[0].split("-")), "Effect": "Allow",
         "Principal": {"Service": service}, "Action": "sns:Publish", "Resource": arn,
         "Condition": {"ArnEquals": {"aws:SourceArn": sorted(set(sources))}}}
        for service, sources in sorted(by_service.items())]}


def _pairs(subscriptions: Any) -> list[list[str]]:
    """(protocol, endpoint) pairs, sorted and without repeats, as lists (what a JSON snapshot gives back)."""
    return [list(pair) for pair in sorted({(str(p), str(e)) for p, e in subscriptions})]


class TopicHandler(ResourceHandler):
    kind = TopicSpec.kind

    def desired(self, spec: TopicSpec) -> dict[str, Any]:
        return {"policy": normalize_policy(topic_policy(topic_arn(self.arns, spec.name), spec.publishers)),
                "subscriptions": _pairs(spec.subscriptions)}

    def _subscriptions(self, arn: str) -> list[dict[str, Any]]:
        sns = self.clients.client("sns")
        return [s for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
                for s in page["Subscriptions"]]

    def read(self, spec: TopicSpec) -> dict[str, Any] | None:
        sns = self.clients.client("sns")
        arn = topic_arn(self.arns, spec.name)
        found = missing_is_none(lambda: sns.get_topic_attributes(TopicArn=arn), *NOT_FOUND)
        if found is None:
            return None
        wanted = {tuple(s) for s in _pairs(spec.subscriptions)}
        listed = self._subscriptions(arn)
        present = [(s["Protocol"], s["Endpoint"]) for s in listed
                   if s["SubscriptionArn"].startswith("arn:") or (s["SubscriptionArn"] == PENDING and (s["Protocol"], s["Endpoint"]) in wanted)]
        policy = found["Attributes"].get("Policy")
        return {"policy": normalize_policy(policy) if policy else None, "subscriptions": _pairs(present),
                "tags": self.read_tags(spec.name) or {}, SUBSCRIPTIONS: listed}

    @staticmethod
    def create_kwargs(spec: TopicSpec) -> dict[str, Any]:
        """CreateTopic's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {"Name": spec.name, "Tags": [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]}

    @staticmethod
    def policy_kwargs(spec: TopicSpec, arn: str) -> dict[str, Any]:
        """SetTopicAttributes' parameters for the topic policy."""
        return {"TopicArn": arn, "AttributeName": "Policy", "AttributeValue": json.dumps(topic_policy(arn, spec.publishers))}

    @staticmethod
    def subscribe_kwargs(spec: TopicSpec, arn: str) -> list[dict[str, Any]]:
        """Subscribe's parameters, one per subscription."""
        return [{"TopicArn": arn, "Protocol": protocol, "Endpoint": endpoint} for protocol, endpoint in _pairs(spec.subscriptions)]

    def create(self, spec: TopicSpec) -> None:
        sns = self.clients.client("sns")
        arn = sns.create_topic(**self.create_kwargs(spec))["TopicArn"]
        sns.set_topic_attributes(**self.policy_kwargs(spec, arn))
        for kwargs in self.subscribe_kwargs(spec, arn):
            sns.subscribe(**kwargs)

    def update(self, spec: TopicSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        sns = self.clients.client("sns")
        arn = topic_arn(self.arns, spec.name)
        if changed(changes, "policy"):
            sns.set_topic_attributes(**self.policy_kwargs(spec, arn))
        if changed(changes, "subscriptions"):
            wanted = {tuple(s) for s in _pairs(spec.subscriptions)}
            existing = current[SUBSCRIPTIONS] if current is not None and SUBSCRIPTIONS in current else self._subscriptions(arn)
            have = {(s["Protocol"], s["Endpoint"]) for s in existing}
            for protocol, endpoint in sorted(wanted - have):
                sns.subscribe(TopicArn=arn, Protocol=protocol, Endpoint=endpoint)
            for s in existing:  # a pending one has no ARN to unsubscribe with: SNS deletes it after 48 hours
                if (s["Protocol"], s["Endpoint"]) not in wanted and s["SubscriptionArn"].startswith("arn:"):
                    sns.unsubscribe(SubscriptionArn=s["SubscriptionArn"])
        to_set, to_remove = tag_delta(self.current_tags(spec.name, current), spec.tags)
        if to_set:
            sns.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in sorted(to_set.items())])
        if to_remove:
            sns.untag_resource(ResourceArn=arn, TagKeys=to_remove)

    def read_tags(self, name: str) -> dict[str, str] | None:
        sns = self.clients.client("sns")
        found = missing_is_none(lambda: sns.list_tags_for_resource(ResourceArn=topic_arn(self.arns, name)), *NOT_FOUND)
        return None if found is None else {t["Key"]: t["Value"] for t in found.get("Tags", [])}

    def delete(self, name: str) -> None:
        """DeleteTopic deletes the topic's subscriptions too."""
        self.clients.client("sns").delete_topic(TopicArn=topic_arn(self.arns, name))


def _requests(spec: TopicSpec, region: str) -> list[Request]:
    arn = topic_arn(Arns(region, "000000000000"), spec.name)  # the account does not change what the models check
    return [Request("sns", "CreateTopic", TopicHandler.create_kwargs(spec)),
            Request("sns", "SetTopicAttributes", TopicHandler.policy_kwargs(spec, arn)),
            *(Request("sns", "Subscribe", kwargs) for kwargs in TopicHandler.subscribe_kwargs(spec, arn))]


def _limits(spec: TopicSpec) -> list[tuple[str, Any]]:
    """What SNS refuses that its service model does not say: the topic name, and each subscription's protocol and
    endpoint form."""
    import re

    out: list[tuple[str, Any]] = []
    if not re.fullmatch(TOPIC_NAME, spec.name):
        out.append(("a topic name is 1 to 256 letters, digits, hyphens and underscores", spec.name))
    for protocol, endpoint in spec.subscriptions:
        if protocol not in PROTOCOLS:
            out.append((f"subscription protocol {protocol!r} is not one of SNS's ({', '.join(sorted(PROTOCOLS))})", protocol))
        elif not _endpoint_fits(protocol, endpoint):
            out.append((f"a {protocol} subscription's endpoint must be {PROTOCOLS[protocol]}, not {endpoint!r}", endpoint))
    if not spec.publishers:
        out.append(("the topic policy names no publisher (service, source ARN): nothing could publish to it", None))
    return out


def _endpoint_fits(protocol: str, endpoint: str) -> bool:
    import re

    if protocol in ("email", "email-json"):
        return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", endpoint) is not None
    if protocol in ("http", "https"):
        return endpoint.startswith(f"{protocol}://")
    service = {"sqs": "sqs", "lambda": "lambda", "firehose": "firehose", "application": "sns"}.get(protocol)
    if service:
        return endpoint.startswith("arn:") and endpoint.split(":")[2:3] == [service]
    return bool(endpoint)


KIND = Kind(
    spec=TopicSpec, handler=TopicHandler,
    reads=("sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource"),
    writes=("sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe",
            "sns:TagResource", "sns:UntagResource"),
    arns=lambda s, arns, p: [topic_arn(arns, p(s.name))],
    requests=_requests,
    tag_limit=(50, "SNS topics"),  # https://docs.aws.amazon.com/sns/latest/dg/sns-tags.html
    limits=_limits,
    accepted_findings=(
        Accepted("PERMISSIONS_MANAGEMENT_ACTIONS", {"actions": frozenset({"sns:createtopic", "sns:settopicattributes"})},
                 "the deployer writes its topics' policies (who may publish: the project's own rules); IAM cannot limit a "
                 "topic policy's content"),
        Accepted("RESOURCE_MISMATCH", {"actions": frozenset({"sns:Unsubscribe"})},
                 "parliament's action table lacks the topic resource type of sns:Unsubscribe (AWS's has it)"),
    ),
)
