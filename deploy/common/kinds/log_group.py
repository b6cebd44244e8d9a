"""CloudWatch log groups with a retention period (a group without one keeps logs forever)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..plan import FieldChange
from .base import Kind, Request, ResourceHandler, Spec, changed, missing_is_none, tag_delta


@dataclass(frozen=True, eq=False)
class LogGroupSpec(Spec):
    kind: ClassVar[str] = "log_group"
    retention_days: int = 30


DESCRIBE_AT_ONCE = 50  # DescribeLogGroups' logGroupIdentifiers: 1 to 50 names


class LogGroupHandler(ResourceHandler):
    kind = LogGroupSpec.kind
    batched = True

    def desired(self, spec: LogGroupSpec) -> dict[str, Any]:
        return {"retention_days": spec.retention_days}

    def read(self, spec: LogGroupSpec) -> dict[str, Any] | None:
        return self.read_many([spec])[0]

    def read_many(self, specs: list[Spec]) -> list[dict[str, Any] | None]:
        """One DescribeLogGroups for up to 50 groups, by name (``logGroupIdentifiers``: exactly those, not a prefix's),
        then each existing group's tags (ListTagsLogGroup: DescribeLogGroups does not show them)."""
        logs = self.clients.client("logs")
        names = list(dict.fromkeys(s.name for s in specs))
        groups: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), DESCRIBE_AT_ONCE):
            found = logs.describe_log_groups(logGroupIdentifiers=names[start:start + DESCRIBE_AT_ONCE])["logGroups"]
            groups.update({g["logGroupName"]: g for g in found})
        tags = self.clients.map(lambda s: self.read_tags(s.name) if s.name in groups else None, specs)  # None: gone since
        return [None if t is None else {"retention_days": groups[s.name].get("retentionInDays"), "tags": t}
                for s, t in zip(specs, tags)]

    @staticmethod
    def create_kwargs(spec: LogGroupSpec) -> dict[str, Any]:
        """CreateLogGroup's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {"logGroupName": spec.name, "tags": spec.tags}

    @staticmethod
    def retention_kwargs(spec: LogGroupSpec) -> dict[str, Any]:
        """PutRetentionPolicy's parameters, for aws_rules."""
        return {"logGroupName": spec.name, "retentionInDays": spec.retention_days}

    def create(self, spec: LogGroupSpec) -> None:
        logs = self.clients.client("logs")
        logs.create_log_group(**self.create_kwargs(spec))
        logs.put_retention_policy(**self.retention_kwargs(spec))

    def update(self, spec: LogGroupSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        logs = self.clients.client("logs")
        if changed(changes, "retention_days"):
            logs.put_retention_policy(logGroupName=spec.name, retentionInDays=spec.retention_days)
        to_set, to_remove = tag_delta(self.current_tags(spec.name, current), spec.tags)
        if to_set:
            logs.tag_log_group(logGroupName=spec.name, tags=to_set)
        if to_remove:
            logs.untag_log_group(logGroupName=spec.name, tags=to_remove)

    def read_tags(self, name: str) -> dict[str, str] | None:
        logs = self.clients.client("logs")
        found = missing_is_none(lambda: logs.list_tags_log_group(logGroupName=name), "ResourceNotFoundException")
        return None if found is None else dict(found.get("tags", {}))

    def delete(self, name: str) -> None:
        self.clients.client("logs").delete_log_group(logGroupName=name)


KIND = Kind(
    spec=LogGroupSpec, handler=LogGroupHandler,
    reads=("logs:ListTagsLogGroup",),  # DescribeLogGroups (the groups by name) is authorised only on "*": granted apart
    writes=("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:TagLogGroup", "logs:UntagLogGroup"),
    arns=lambda s, arns, p: [arns.log_group(p(s.name))],  # the pattern's * covers the log-group:NAME:* form
    requests=lambda s, region: [Request("logs", "CreateLogGroup", LogGroupHandler.create_kwargs(s)),
                                Request("logs", "PutRetentionPolicy", LogGroupHandler.retention_kwargs(s))],
    tag_limit=(50, "CloudWatch log groups"),  # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
)
