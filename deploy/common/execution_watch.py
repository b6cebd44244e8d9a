"""Follow a Step Functions execution for a progress display: find the one a trigger started, then
stream its state changes until it ends.

Step Functions throttles these reads per account and region with token buckets (Standard
workflows, default quotas: GetExecutionHistory and DescribeExecution 250 tokens refilled at 5/s,
ListExecutions 100 refilled at 2/s), shared with everything else in the account. So polling is
gentle: the interval starts at ``poll_interval`` and doubles up to ``max_poll_interval`` while
nothing happens, back to the start when something does; each poll reads only the history events
not seen yet (newest first, paging back only until a known event); ListExecutions asks for one
small page (newest first) unless older executions have not been reached yet. A ThrottlingException
that still happens is retried by the clients' botocore retry mode (standard/adaptive, aws_common).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from time import monotonic, sleep
from typing import Any

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_PROGRESS_SUFFIXES = ("StateEntered", "StateExited", "Failed", "TimedOut", "Aborted")
DEFAULT_POLL_SECONDS = 0.5  # first interval, and the interval right after something new happened
MAX_POLL_SECONDS = 5.0  # the interval doubles up to this while nothing happens
HISTORY_PAGE_SIZE = 100  # events per GetExecutionHistory page (newest first)
LIST_PAGE_SIZE = 10  # executions per ListExecutions page (newest first)


def is_progress_event(event: dict[str, Any]) -> bool:
    """State entered/exited, any failure or timeout, and the execution's start and end."""
    kind = event.get("type", "")
    return kind in ("ExecutionStarted", "ExecutionSucceeded") or kind.endswith(_PROGRESS_SUFFIXES)


def _as_datetime(value: datetime.datetime | float) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)


class _Backoff:
    """Poll intervals: ``first``, doubling up to ``cap`` while nothing happens; ``reset`` when something does."""

    def __init__(self, first: float, cap: float):
        self.first, self.cap = first, max(first, cap)
        self.current = first

    def reset(self) -> None:
        self.current = self.first

    def wait(self, deadline: float) -> None:
        """Sleep the current interval (never past the deadline), then lengthen it."""
        sleep(max(0.0, min(self.current, deadline - monotonic())))
        self.current = min(self.current * 2, self.cap)


def _first_started_since(sfn_client: Any, state_machine_arn: str, since: datetime.datetime) -> str | None:
    """ARN of the earliest execution started at or after `since`, or None. ListExecutions lists the
    newest first, so paging stops at the first page that reaches an older execution."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": LIST_PAGE_SIZE}
    while True:
        page = sfn_client.list_executions(**kwargs)
        executions = page.get("executions", [])
        found += [e for e in executions if _as_datetime(e["startDate"]) >= since]
        reached_older = any(_as_datetime(e["startDate"]) < since for e in executions)
        if reached_older or not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    if not found:
        return None
    return min(found, key=lambda e: _as_datetime(e["startDate"]))["executionArn"]


def wait_for_execution(
    sfn_client: Any,
    state_machine_arn: str,
    *,
    started_after: datetime.datetime | float,
    timeout: float,
    poll_interval: float = DEFAULT_POLL_SECONDS,
    max_poll_interval: float = MAX_POLL_SECONDS,
) -> str:
    """ARN of the first execution of the machine that started at or after `started_after`
    (an aware datetime or epoch seconds). Raises TimeoutError if none starts within `timeout` seconds."""
    since = _as_datetime(started_after)
    deadline = monotonic() + timeout
    backoff = _Backoff(poll_interval, max_poll_interval)
    while True:
        found = _first_started_since(sfn_client, state_machine_arn, since)
        if found:
            return found
        if monotonic() >= deadline:
            raise TimeoutError(f"no execution of {state_machine_arn} started after {since.isoformat()} "
                               f"within {timeout:.0f}s")
        backoff.wait(deadline)


def new_history_events(sfn_client: Any, execution_arn: str, last_id: int) -> list[dict[str, Any]]:
    """The execution's history events with an id above `last_id`, oldest first. Reads newest first
    (``reverseOrder``) and pages back only until it reaches an event already seen, so a poll
    costs one page however long the history is."""
    new: dict[int, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True, "maxResults": HISTORY_PAGE_SIZE}
    while True:
        page = sfn_client.get_execution_history(**kwargs)
        events = page.get("events", [])
        new.update((e["id"], e) for e in events if e["id"] > last_id)
        reached_seen = any(e["id"] <= last_id for e in events)
        if reached_seen or not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return [new[i] for i in sorted(new)]


def follow_execution(
    sfn_client: Any,
    execution_arn: str,
    on_event: Callable[[dict[str, Any]], None],
    timeout: float,
    poll_interval: float = DEFAULT_POLL_SECONDS,
    max_poll_interval: float = MAX_POLL_SECONDS,
) -> dict[str, Any]:
    """Call on_event(event) once for each new progress event (in order) until the execution ends;
    return the final describe_execution response. Raises TimeoutError after `timeout` seconds."""
    last_id = 0
    deadline = monotonic() + timeout
    backoff = _Backoff(poll_interval, max_poll_interval)
    while True:
        # Read the status before the history, so the history read after a final status is complete.
        described = sfn_client.describe_execution(executionArn=execution_arn)
        events = new_history_events(sfn_client, execution_arn, last_id)
        for event in events:
            last_id = event["id"]
            if is_progress_event(event):
                on_event(event)
        if described["status"] in TERMINAL_STATUSES:
            return described
        if monotonic() >= deadline:
            raise TimeoutError(f"execution {execution_arn} still {described['status']} after {timeout:.0f}s")
        if events:
            backoff.reset()
        backoff.wait(deadline)
