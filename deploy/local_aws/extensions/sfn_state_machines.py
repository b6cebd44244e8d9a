"""Step Functions fixes: CreateStateMachine idempotency as AWS does it, and generated execution names.

- moto returns the existing machine when CreateStateMachine repeats a name, even with a new
  definition (which is then silently dropped). AWS treats a repeat as idempotent only when the
  definition is the same, else raises StateMachineAlreadyExists.
- moto's interpreting backend names an execution started without `name` "None" (ARN ends ":None",
  so a second one is "already exists"); AWS generates a UUID.
- moto's interpreting backend snapshots the machine with copy.deepcopy for each execution, which
  also copies the machine's backend and past executions (with their locks): the second
  StartExecution on a machine fails with "cannot pickle '_thread.RLock' object" (HTTP 500). The
  snapshot now copies the definition and settings and shares the live references.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from moto.core.exceptions import AWSError
from moto.stepfunctions.exceptions import StateMachineDoesNotExist
from moto.stepfunctions.models import StateMachineInstance, StepFunctionBackend
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from deploy.local_aws.extensions.patching import wrap_method


class StateMachineAlreadyExists(AWSError):
    TYPE = "StateMachineAlreadyExists"
    STATUS = 400


def same_definition(a: str, b: str) -> bool:
    """Definitions are equal as JSON (key order and whitespace do not matter)."""
    try:
        return json.loads(a) == json.loads(b)
    except (TypeError, ValueError):
        return a == b


def _create_state_machine(original: Any, self: StepFunctionBackend, name: str, definition: str, *args: Any,
                          **kwargs: Any) -> Any:
    arn = f"arn:aws:states:{self.region_name}:{self.account_id}:stateMachine:{name}"
    try:
        existing = self.describe_state_machine(arn)
    except StateMachineDoesNotExist:
        existing = None
    if existing is not None and not same_definition(existing.definition, definition):
        raise StateMachineAlreadyExists(f"State Machine Already Exists: '{existing.arn}'")
    return original(self, name, definition, *args, **kwargs)


def _start_execution(original: Any, self: StepFunctionsParserBackend, state_machine_arn: str, name: Any = None,
                     *args: Any, **kwargs: Any) -> Any:
    return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)


# Live links, not part of an execution's snapshot of its state machine.
_SHARED_ATTRIBUTES = frozenset({"backend", "executions", "versions", "aliases", "latest_version"})


def _snapshot(self: StateMachineInstance, memo: dict[int, Any]) -> StateMachineInstance:
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        setattr(clone, key, value if key in _SHARED_ATTRIBUTES else copy.deepcopy(value, memo))
    return clone


def apply() -> None:
    StateMachineInstance.__deepcopy__ = _snapshot  # type: ignore[attr-defined]
    wrap_method(StepFunctionBackend, "create_state_machine")(_create_state_machine)
    wrap_method(StepFunctionsParserBackend, "start_execution")(_start_execution)
