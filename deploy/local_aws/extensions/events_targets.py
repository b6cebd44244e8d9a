"""EventBridge rules that target Step Functions state machines (S3 "Object Created" -> execution) and SNS topics
(a failed execution -> the failures topic).

moto 5.2.1 matches an event against a rule's pattern, but its rule delivery has neither a Step Functions nor an
SNS target: it raises NotImplementedError, which the S3 notification path swallows, so an upload never starts the
pipeline. We deliver to `arn:aws:states:...:stateMachine:NAME` targets: StartExecution with the event (or the
target's Input / InputPath / InputTransformer result) as input; and to `arn:aws:sns:...:TOPIC` targets: Publish of
the same, as JSON, if the topic's policy lets EventBridge publish for this rule (AWS delivers to SNS through the
topic policy, not a role, and drops what the policy refuses). We also skip DISABLED rules, and give each event a
unique id and an ISO-8601 `time` as AWS does (moto sends a fixed id and epoch seconds). Other target kinds keep
moto's behaviour.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import uuid
from typing import Any

from moto.events.models import Rule
from moto.events.utils import _BASE_EVENT_MESSAGE, EventTemplateParser
from moto.utilities.arns import parse_arn

from deploy.local_aws.extensions.patching import wrap_method

LOG = logging.getLogger("local_aws.events")


def target_service(target: dict[str, Any]) -> str:
    arn = target.get("Arn", "")
    return arn.split(":")[2] if arn.startswith("arn:") and arn.count(":") >= 5 else ""


def is_state_machine_target(target: dict[str, Any]) -> bool:
    return target_service(target) == "states"


def normalise_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it: unique id, `time` as ISO-8601 UTC."""
    out = copy.deepcopy(event)
    out.pop("ingestion-time", None)  # moto's own field, not part of an event AWS delivers
    if not out.get("id") or out["id"] == _BASE_EVENT_MESSAGE["id"]:
        out["id"] = str(uuid.uuid4())
    if isinstance(out.get("time"), (int, float)):
        out["time"] = datetime.datetime.fromtimestamp(out["time"], tz=datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    return out


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What EventBridge passes to the target: Input (constant JSON), InputPath, InputTransformer, or the event."""
    if target.get("Input"):
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event={"ingestion-time": event.get("time"), **event},
        )
    return event


def start_state_machine(target: dict[str, Any], event: dict[str, Any]) -> str | None:
    """StartExecution for one target; returns the execution ARN, or None (logged) on failure, as AWS drops it."""
    from moto.stepfunctions.responses import get_backend

    arn = parse_arn(target["Arn"])
    try:
        backend = get_backend(arn.account, arn.region)
        execution = backend.start_execution(target["Arn"], None, json.dumps(target_input(target, event)))
    except Exception as exc:  # noqa: BLE001 - delivery is asynchronous in AWS; the caller never sees it
        LOG.warning("EventBridge target %s: StartExecution failed: %s", target["Arn"], exc)
        return None
    LOG.info("EventBridge rule delivered event %s to %s", event.get("id"), execution.execution_arn)
    return execution.execution_arn


def publish_to_topic(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> str | None:
    """Publish for one SNS target; returns the message id, or None (logged) when the topic is gone or its policy
    does not let EventBridge publish for this rule: AWS drops the event then (FailedInvocations)."""
    from moto.sns.models import sns_backends

    arn = parse_arn(target["Arn"])
    try:
        backend = sns_backends[arn.account][arn.region]
        topic = backend.get_topic(target["Arn"])
        if not events_may_publish(topic._policy_json, target["Arn"], rule.arn, rule.account_id):
            LOG.warning("EventBridge rule %s: the policy of %s does not let events.amazonaws.com publish for it; "
                        "event %s dropped", rule.arn, target["Arn"], event.get("id"))
            return None
        payload = target_input(target, event)
        message = payload if isinstance(payload, str) else json.dumps(payload)
        message_id = backend.publish(message, arn=target["Arn"])
    except Exception as exc:  # noqa: BLE001 - delivery is asynchronous in AWS; the caller never sees it
        LOG.warning("EventBridge target %s: Publish failed: %s", target["Arn"], exc)
        return None
    LOG.info("EventBridge rule %s delivered event %s to %s", rule.name, event.get("id"), target["Arn"])
    return message_id


def events_may_publish(policy: dict[str, Any], topic: str, rule_arn: str, account: str) -> bool:
    """Whether a topic policy lets EventBridge (events.amazonaws.com) sns:Publish to ``topic`` for ``rule_arn``: an
    Allow statement for that principal, action and resource whose conditions all hold (ArnEquals/ArnLike/
    StringEquals/StringLike on aws:SourceArn and aws:SourceAccount; any other condition is taken not to hold), and
    no such Deny."""
    context = {"aws:sourcearn": rule_arn, "aws:sourceaccount": account}
    allowed = False
    for statement in policy.get("Statement", []):
        if not (_principal_matches(statement.get("Principal"), "events.amazonaws.com")
                and _any_match(statement.get("Action"), "sns:publish", ignore_case=True)
                and _any_match(statement.get("Resource"), topic) and _conditions_hold(statement.get("Condition", {}), context)):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _any_match(patterns: Any, value: str, ignore_case: bool = False) -> bool:
    import fnmatch

    fold = (lambda text: text.lower()) if ignore_case else (lambda text: text)  # noqa: E731
    return any(fnmatch.fnmatchcase(fold(value), fold(p)) for p in _listed(patterns))


def _principal_matches(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return service in _listed(principal.get("Service")) or "*" in _listed(principal.get("AWS"))


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            value = context.get(key.lower())
            if value is None:
                return False
            if operator in ("ArnEquals", "StringEquals"):
                if value not in _listed(wanted):
                    return False
            elif operator in ("ArnLike", "StringLike"):
                if not _any_match(wanted, value):
                    return False
            else:
                return False
    return True


def _send_to_targets(original: Any, self: Rule, event: dict[str, Any], transform_input: bool = True) -> None:
    if self.state != "ENABLED":
        return
    ours = [t for t in self.targets if target_service(t) in ("states", "sns")]
    others = [t for t in self.targets if target_service(t) not in ("states", "sns")]
    if ours and self.event_pattern.matches_event(event):
        delivered = normalise_event(event)
        for target in ours:
            if target_service(target) == "states":
                start_state_machine(target, delivered)
            else:
                publish_to_topic(self, target, delivered)
    if others:
        rule = copy.copy(self)
        rule.targets = others
        original(rule, event, transform_input)


def apply() -> None:
    wrap_method(Rule, "send_to_targets")(_send_to_targets)
