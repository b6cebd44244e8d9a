"""EventBridge rules with one target (e.g. S3 'Object Created' -> start a state machine, a failed execution -> an
SNS topic). A target that AWS reaches through its own resource policy (an SNS topic) takes no role."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .. import retry
from ..errors import AwsCallError
from ..plan import FieldChange
from .base import Kind, Request, ResourceHandler, Spec, missing_is_none, tag_delta


@dataclass(frozen=True, eq=False)
class EventRuleSpec(Spec):
    kind: ClassVar[str] = "event_rule"
    event_pattern: dict[str, Any] = field(default_factory=dict)
    target_arn: str = ""
    target_role_arn: str = ""  # empty: the target's resource policy lets EventBridge in (SNS), no role is passed
    description: str = ""


TARGET_ID = "primary"
# Failed entries worth trying again (PutTargets API reference: "too many requests were made at the same time").
RETRYABLE_ENTRY_ERRORS = frozenset({"ConcurrentModificationException", "InternalException", "ThrottlingException"})


class EventRuleHandler(ResourceHandler):
    kind = EventRuleSpec.kind

    def desired(self, spec: EventRuleSpec) -> dict[str, Any]:
        return {
            "event_pattern": spec.event_pattern,
            "state": "ENABLED",
            "description": spec.description,
            "targets": [{"Id": TARGET_ID, "Arn": spec.target_arn, "RoleArn": spec.target_role_arn or None}],
        }

    def read(self, spec: EventRuleSpec) -> dict[str, Any] | None:
        events = self.clients.client("events")
        found = missing_is_none(lambda: events.describe_rule(Name=spec.name), "ResourceNotFoundException")
        if found is None:
            return None
        targets = events.list_targets_by_rule(Rule=spec.name).get("Targets", [])
        return {
            "event_pattern": json.loads(found["EventPattern"]) if found.get("EventPattern") else None,
            "state": found.get("State"),
            "description": found.get("Description", ""),
            "targets": sorted(({"Id": t["Id"], "Arn": t["Arn"], "RoleArn": t.get("RoleArn")} for t in targets), key=lambda t: t["Id"]),
            "tags": self._tags(spec.name),
        }

    def create(self, spec: EventRuleSpec) -> None:
        self._put(spec, tags=True)

    @staticmethod
    def put_rule_kwargs(spec: EventRuleSpec, tags: bool = True) -> dict[str, Any]:
        """PutRule's parameters (pure: aws_rules checks them against the service model before any call)."""
        kwargs: dict[str, Any] = {"Name": spec.name, "EventPattern": json.dumps(spec.event_pattern), "State": "ENABLED",
                                  "Description": spec.description}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]
        return kwargs

    @staticmethod
    def put_targets_kwargs(spec: EventRuleSpec) -> dict[str, Any]:
        """PutTargets' parameters, for aws_rules."""
        return {"Rule": spec.name, "Targets": [EventRuleHandler._target(spec)]}

    @staticmethod
    def _target(spec: EventRuleSpec) -> dict[str, str]:
        return {"Id": TARGET_ID, "Arn": spec.target_arn, **({"RoleArn": spec.target_role_arn} if spec.target_role_arn else {})}

    def _put(self, spec: EventRuleSpec, tags: bool) -> None:
        events = self.clients.client("events")
        events.put_rule(**self.put_rule_kwargs(spec, tags))
        targets = [self._target(spec)]
        self._all_entries(spec.name, "PutTargets", targets,
                          lambda batch: events.put_targets(Rule=spec.name, Targets=batch), lambda t: t["Id"])

    def _all_entries(self, rule: str, operation: str, entries: list[Any], call: Any, entry_id: Any) -> None:
        """PutTargets/RemoveTargets answer 200 even when entries fail: retry the failed ones while AWS says
        it was a passing condition, and fail naming the rule, target and AWS's error code otherwise."""
        deadline = retry.clock() + retry.budgets.partial_failure
        attempt = 0
        while entries:
            failed = {f["TargetId"]: f for f in call(entries).get("FailedEntries", [])}
            entries = [e for e in entries if entry_id(e) in failed]
            if not entries:
                return
            attempt += 1
            delay = retry.backoff(attempt)
            first = failed[entry_id(entries[0])]
            if any(failed[entry_id(e)].get("ErrorCode") not in RETRYABLE_ENTRY_ERRORS for e in entries) \
                    or retry.clock() + delay > deadline:
                raise AwsCallError(f"event_rule {rule}: {operation} failed for target {first['TargetId']}: "
                                   f"{first.get('ErrorCode')}: {first.get('ErrorMessage', '')}")
            retry.report(f"{operation}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} failed "
                         f"({first.get('ErrorCode')}), retry {attempt} in {delay:.1f}s")
            retry.sleep(delay)

    def _remove_targets(self, rule: str, ids: list[str]) -> None:
        events = self.clients.client("events")
        self._all_entries(rule, "RemoveTargets", ids, lambda batch: events.remove_targets(Rule=rule, Ids=batch), lambda i: i)

    def update(self, spec: EventRuleSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        events = self.clients.client("events")
        if any(c.field != "tags" for c in changes):
            old_targets = next((c.old for c in changes if c.field == "targets"), None) or []
            stale = [t["Id"] for t in old_targets if t["Id"] != TARGET_ID]
            if stale:
                self._remove_targets(spec.name, stale)
            self._put(spec, tags=False)
        to_set, to_remove = tag_delta(self.current_tags(spec.name, current), spec.tags)
        arn = self.arns.event_rule(spec.name)
        if to_set:
            events.tag_resource(ResourceARN=arn, Tags=[{"Key": k, "Value": v} for k, v in sorted(to_set.items())])
        if to_remove:
            events.untag_resource(ResourceARN=arn, TagKeys=to_remove)

    def read_tags(self, name: str) -> dict[str, str] | None:
        return missing_is_none(lambda: self._tags(name), "ResourceNotFoundException")

    def _tags(self, name: str) -> dict[str, str]:
        """The rule's tags (ListTagsForResource: ResourceNotFoundException when there is no such rule)."""
        found = self.clients.client("events").list_tags_for_resource(ResourceARN=self.arns.event_rule(name))
        return {t["Key"]: t["Value"] for t in found.get("Tags", [])}

    def delete(self, name: str) -> None:
        events = self.clients.client("events")
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=name).get("Targets", [])]
        if ids:
            self._remove_targets(name, ids)
        events.delete_rule(Name=name)


KIND = Kind(
    spec=EventRuleSpec, handler=EventRuleHandler,
    reads=("events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource"),
    writes=("events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets", "events:TagResource",
            "events:UntagResource"),
    arns=lambda s, arns, p: [arns.event_rule(p(s.name))],
    requests=lambda s, region: [Request("events", "PutRule", EventRuleHandler.put_rule_kwargs(s)),
                                Request("events", "PutTargets", EventRuleHandler.put_targets_kwargs(s))],
    tag_limit=(50, "EventBridge rules"),  # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
)
