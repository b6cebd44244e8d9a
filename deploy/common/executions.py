"""Follow a Step Functions execution for a progress display: find the one a trigger started, then
stream its state changes until it ends. Polling is bounded by an interval and a timeout."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_PROGRESS_SUFFIXES = ("StateEntered", "StateExited", "Failed", "TimedOut", "Aborted")
DEFAULT_POLL_SECONDS = 0.5


def is_progress_event(event: dict[str, Any]) -> bool:
    """State entered/exited, any failure or timeout, and the execution's start and end."""
    kind = event.get("type", "")
    return kind in ("ExecutionStarted", "ExecutionSucceeded") or kind.endswith(_PROGRESS_SUFFIXES)


def _as_datetime(value: datetime.datetime | float) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)


def wait_for_execution(
    sfn_client: Any,
    state_machine_arn: str,
    *,
    started_after: datetime.datetime | float,
    timeout: float,
    poll_interval: float = DEFAULT_POLL_SECONDS,
) -> str:
    """ARN of the first execution of the machine that started at or after `started_after`
    (an aware datetime or epoch seconds). Raises TimeoutError if none starts within `timeout` seconds."""
    since = _as_datetime(started_after)
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for page in sfn_client.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
            found += [e for e in page["executions"] if _as_datetime(e["startDate"]) >= since]
        if found:
            return min(found, key=lambda e: _as_datetime(e["startDate"]))["executionArn"]
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no execution of {state_machine_arn} started after {since.isoformat()} "
                               f"within {timeout:.0f}s")
        time.sleep(poll_interval)


def _history(sfn_client: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn_client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events += page["events"]
    return events


def follow_execution(
    sfn_client: Any,
    execution_arn: str,
    on_event: Callable[[dict[str, Any]], None],
    timeout: float,
    poll_interval: float = DEFAULT_POLL_SECONDS,
) -> dict[str, Any]:
    """Call on_event(event) once for each new progress event (in order) until the execution ends;
    return the final describe_execution response. Raises TimeoutError after `timeout` seconds."""
    last_id = 0
    deadline = time.monotonic() + timeout
    while True:
        # Read the status before the history, so the history read after a final status is complete.
        described = sfn_client.describe_execution(executionArn=execution_arn)
        for event in _history(sfn_client, execution_arn):
            if event["id"] > last_id:
                last_id = event["id"]
                if is_progress_event(event):
                    on_event(event)
        if described["status"] in TERMINAL_STATUSES:
            return described
        if time.monotonic() >= deadline:
            raise TimeoutError(f"execution {execution_arn} still {described['status']} after {timeout:.0f}s")
        time.sleep(poll_interval)
