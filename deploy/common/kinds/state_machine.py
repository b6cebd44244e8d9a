"""Step Functions state machines: definitions compared as normalised JSON, with logging and tracing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .. import retry
from ..naming import role_name
from ..normalize import normalize_definition
from ..plan import FieldChange
from ..retry import SFN_ROLE_NOT_READY, call_with_retries
from .base import Kind, Request, ResourceHandler, Spec, missing_is_none, tag_delta


@dataclass(frozen=True, eq=False)
class StateMachineSpec(Spec):
    kind: ClassVar[str] = "state_machine"
    arn: str = ""
    role_arn: str = ""
    definition: dict[str, Any] = field(default_factory=dict)
    log_group_arn: str = ""
    log_level: str = "ERROR"
    include_execution_data: bool = False
    tracing: bool = False


NOT_FOUND = ("StateMachineDoesNotExist", "ResourceNotFound")
REVISION = "_revision_id"  # read with the rest (not a managed field: never diffed), for the snapshot's pin


class StateMachineHandler(ResourceHandler):
    kind = StateMachineSpec.kind

    @staticmethod
    def _logging(spec: StateMachineSpec) -> dict[str, Any]:
        if spec.log_level == "OFF":
            return {"level": "OFF", "includeExecutionData": False}
        return {
            "level": spec.log_level,
            "includeExecutionData": spec.include_execution_data,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": f"{spec.log_group_arn}:*"}}],
        }

    def desired(self, spec: StateMachineSpec) -> dict[str, Any]:
        return {
            "definition": normalize_definition(spec.definition),
            "role": spec.role_arn,
            "logging": self._logging(spec),
            "tracing": spec.tracing,
        }

    def _described(self, spec: StateMachineSpec) -> dict[str, Any] | None:
        """The comparable fields DescribeStateMachine shows (tags aside) and its revision (``REVISION``), or None
        when there is no such machine."""
        sfn = self.clients.client("stepfunctions")
        found = missing_is_none(lambda: sfn.describe_state_machine(stateMachineArn=spec.arn), *NOT_FOUND)
        if found is None:
            return None
        logging = found.get("loggingConfiguration") or {"level": "OFF", "includeExecutionData": False}
        if not logging.get("destinations"):
            logging = {k: v for k, v in logging.items() if k != "destinations"}
        return {
            "definition": normalize_definition(found["definition"]),
            "role": found.get("roleArn"),
            "logging": logging,
            "tracing": bool((found.get("tracingConfiguration") or {}).get("enabled", False)),
            REVISION: found.get("revisionId", ""),
        }

    def read(self, spec: StateMachineSpec) -> dict[str, Any] | None:
        """DescribeStateMachine and ListTagsForResource: two calls."""
        described = self._described(spec)
        return None if described is None else {**described, "tags": self._tags(spec.arn)}

    @staticmethod
    def create_kwargs(spec: StateMachineSpec) -> dict[str, Any]:
        """CreateStateMachine's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {
            "name": spec.name,
            "definition": json.dumps(spec.definition),
            "roleArn": spec.role_arn,
            "type": "STANDARD",
            "loggingConfiguration": StateMachineHandler._logging(spec),
            "tracingConfiguration": {"enabled": spec.tracing},
            "tags": [{"key": k, "value": v} for k, v in sorted(spec.tags.items())],
        }

    def create(self, spec: StateMachineSpec) -> None:
        sfn = self.clients.client("stepfunctions")
        kwargs = self.create_kwargs(spec)
        call_with_retries(lambda: sfn.create_state_machine(**kwargs), SFN_ROLE_NOT_READY, retry.budgets.role_propagation,
                          role_name(spec.role_arn))

    def update(self, spec: StateMachineSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        sfn = self.clients.client("stepfunctions")
        if any(c.field != "tags" for c in changes):
            kwargs = {
                "stateMachineArn": spec.arn,
                "definition": json.dumps(spec.definition),
                "roleArn": spec.role_arn,
                "loggingConfiguration": self._logging(spec),
                "tracingConfiguration": {"enabled": spec.tracing},
            }
            call_with_retries(lambda: sfn.update_state_machine(**kwargs), SFN_ROLE_NOT_READY, retry.budgets.role_propagation,
                              role_name(spec.role_arn))
            self._wait_until_visible(spec)
        to_set, to_remove = tag_delta(self.current_tags(spec.arn, current), spec.tags)
        if to_set:
            sfn.tag_resource(resourceArn=spec.arn, tags=[{"key": k, "value": v} for k, v in sorted(to_set.items())])
        if to_remove:
            sfn.untag_resource(resourceArn=spec.arn, tagKeys=to_remove)

    def pin(self, spec: StateMachineSpec, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
        if current is not None and REVISION in current:
            return {"revision_id": current[REVISION]}
        sfn = self.clients.client("stepfunctions")
        found = missing_is_none(lambda: sfn.describe_state_machine(stateMachineArn=spec.arn), *NOT_FOUND)
        return None if found is None else {"revision_id": found.get("revisionId", "")}

    def _wait_until_visible(self, spec: StateMachineSpec) -> None:
        """DescribeStateMachine is eventually consistent: wait until it shows the update, so the next plan is
        empty (Terraform does the same after UpdateStateMachine)."""
        wanted = self.desired(spec)
        shown = lambda: {k: v for k, v in (self._described(spec) or {}).items() if k != REVISION}  # noqa: E731
        retry.wait_until(lambda: True if shown() == wanted else None, retry.budgets.read_after_write,
                         f"state machine {spec.name}: waiting for reads to show the update", interval=0.5)

    def _arn(self, name_or_arn: str) -> str:
        return name_or_arn if name_or_arn.startswith("arn:") else self.arns.state_machine(name_or_arn)

    def read_tags(self, name: str) -> dict[str, str] | None:
        sfn = self.clients.client("stepfunctions")
        arn = self._arn(name)
        if missing_is_none(lambda: sfn.describe_state_machine(stateMachineArn=arn), *NOT_FOUND) is None:
            return None  # (ListTagsForResource of a machine that does not exist may answer no tags rather than an error)
        return self._tags(arn)

    def _tags(self, arn: str) -> dict[str, str]:
        found = self.clients.client("stepfunctions").list_tags_for_resource(resourceArn=arn)
        return {t["key"]: t["value"] for t in found.get("tags", [])}

    def delete(self, name: str) -> None:
        self.clients.client("stepfunctions").delete_state_machine(stateMachineArn=self._arn(name))


KIND = Kind(
    spec=StateMachineSpec, handler=StateMachineHandler,
    reads=("states:DescribeStateMachine", "states:ListTagsForResource"),
    writes=("states:CreateStateMachine", "states:UpdateStateMachine", "states:DeleteStateMachine", "states:TagResource",
            "states:UntagResource"),
    arns=lambda s, arns, p: [arns.state_machine(p(s.name))],
    requests=lambda s, region: [Request("stepfunctions", "CreateStateMachine", StateMachineHandler.create_kwargs(s))],
    tag_limit=(50, "Step Functions state machines"),  # https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
)
