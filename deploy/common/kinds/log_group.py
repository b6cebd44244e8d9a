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


class LogGroupHandler(ResourceHandler):
    kind = LogGroupSpec.kind

    def desired(self, spec: LogGroupSpec) -> dict[str, Any]:
        return {"retention_days": spec.retention_days}

    def _describe(self, name: str) -> dict[str, Any] | None:
        logs = self.clients.client("logs")
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
            for group in page["logGroups"]:
                if group["logGroupName"] == name:
                    return group
        return None

    def read(self, spec: LogGroupSpec) -> dict[str, Any] | None:
        group = self._describe(spec.name)
        if group is None:
            return None
        return {"retention_days": group.get("retentionInDays"), "tags": self.read_tags(spec.name) or {}}

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

    def update(self, spec: LogGroupSpec, changes: tuple[FieldChange, ...]) -> None:
        logs = self.clients.client("logs")
        if changed(changes, "retention_days"):
            logs.put_retention_policy(logGroupName=spec.name, retentionInDays=spec.retention_days)
        to_set, to_remove = tag_delta(self.read_tags(spec.name), spec.tags)
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
    reads=("logs:ListTagsLogGroup",),  # listing groups by prefix (DescribeLogGroups) is authorised only on "*"
    writes=("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:TagLogGroup", "logs:UntagLogGroup"),
    arns=lambda s, arns, p: [arns.log_group(p(s.name))],  # the pattern's * covers the log-group:NAME:* form
    requests=lambda s, region: [Request("logs", "CreateLogGroup", LogGroupHandler.create_kwargs(s)),
                                Request("logs", "PutRetentionPolicy", LogGroupHandler.retention_kwargs(s))],
    tag_limit=(50, "CloudWatch log groups"),  # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
)
