"""EventBridge rules that target Step Functions state machines (S3 "Object Created" -> execution).

moto 5.2.1 matches an event against a rule's pattern, but its rule delivery has no Step Functions
target: it raises NotImplementedError, which the S3 notification path swallows, so an upload never
starts the pipeline. We deliver to `arn:aws:states:...:stateMachine:NAME` targets: StartExecution
with the event (or the target's Input / InputPath / InputTransformer result) as input. We also skip
DISABLED rules, and give each S3 event a unique id and an ISO-8601 `time` as AWS does (moto sends a
fixed id and epoch seconds). Other target kinds keep moto's behaviour.
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

from deploy.common.local_aws.extensions.patching import wrap_method

LOG = logging.getLogger("local_aws.events")


def is_state_machine_target(target: dict[str, Any]) -> bool:
    arn = target.get("Arn", "")
    return arn.startswith("arn:") and arn.split(":")[2] == "states"


def normalise_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it: unique id, `time` as ISO-8601 UTC."""
    out = copy.deepcopy(event)
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


def _send_to_targets(original: Any, self: Rule, event: dict[str, Any], transform_input: bool = True) -> None:
    if self.state != "ENABLED":
        return
    machines = [t for t in self.targets if is_state_machine_target(t)]
    others = [t for t in self.targets if not is_state_machine_target(t)]
    if machines and self.event_pattern.matches_event(event):
        delivered = normalise_event(event)
        for target in machines:
            start_state_machine(target, delivered)
    if others:
        rule = copy.copy(self)
        rule.targets = others
        original(rule, event, transform_input)


def apply() -> None:
    wrap_method(Rule, "send_to_targets")(_send_to_targets)
