"""Following an execution respects Step Functions' API rates: only new history is read, polls back off."""
from __future__ import annotations

import bisect
import datetime as dt
import math
from typing import Any

import pytest

from deploy.common import execution_watch

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class Clock:
    """A fake clock: executions' sleep() advances it, monotonic() reads it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(execution_watch, "sleep", c.sleep)
    monkeypatch.setattr(execution_watch, "monotonic", c.monotonic)
    return c


class FakeStepFunctions:
    """One execution whose history grows with the fake clock; paging as the real API does it
    (``maxResults``, ``nextToken``, ``reverseOrder``). Counts every call and every page."""

    def __init__(self, clock: Clock, event_times: list[float], arn: str = "arn:aws:states:us-east-2:1:execution:m:e"):
        self.clock, self.arn = clock, arn
        self.event_times = event_times  # event i+1 happens at event_times[i]; the last one ends the execution
        self.calls: dict[str, int] = {}
        self.history_pages: list[int] = []  # events returned per GetExecutionHistory call
        self.visible_at_polls: list[int] = []  # history length at each DescribeExecution

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def _visible(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_all"):
            last = len(self.event_times)
            self._all = [{"id": i, "previousEventId": i - 1,
                          "type": "ExecutionStarted" if i == 1 else "ExecutionSucceeded" if i == last
                          else ("TaskStateEntered", "TaskScheduled", "TaskSucceeded", "TaskStateExited")[i % 4]}
                         for i in range(1, last + 1)]
        return self._all[:bisect.bisect_right(self.event_times, self.clock.now)]

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self._count("DescribeExecution")
        self.visible_at_polls.append(len(self._visible()))
        done = self.clock.now >= self.event_times[-1]
        return {"executionArn": executionArn, "status": "SUCCEEDED" if done else "RUNNING"}

    def get_execution_history(self, executionArn: str, maxResults: int = 100, reverseOrder: bool = False,
                              nextToken: str | None = None) -> dict[str, Any]:
        self._count("GetExecutionHistory")
        events = self._visible()
        if reverseOrder:
            events.reverse()
        start = int(nextToken or 0)
        page = events[start:start + maxResults]
        self.history_pages.append(len(page))
        more = start + maxResults < len(events)
        return {"events": page, **({"nextToken": str(start + maxResults)} if more else {})}


def test_each_event_is_emitted_once_in_order_and_history_pages_stay_bounded(clock):
    # A 2-hour execution with 3,000 events: far more than one history page.
    times = [i * 2.4 for i in range(3000)]
    sfn = FakeStepFunctions(clock, times)
    seen: list[int] = []
    final = execution_watch.follow_execution(sfn, sfn.arn, lambda e: seen.append(e["id"]), timeout=3 * 3600)

    assert final["status"] == "SUCCEEDED"
    expected = [e["id"] for e in sfn._visible() if execution_watch.is_progress_event(e)]
    assert seen == expected and len(seen) == len(set(seen))  # exactly once, in order
    polls = sfn.calls["DescribeExecution"]
    pages = sfn.calls["GetExecutionHistory"]
    # One page per poll, plus one more only when more than a page of events arrived between two polls.
    assert pages <= polls + math.ceil(3000 / execution_watch.HISTORY_PAGE_SIZE)
    # Re-reading the whole history at each poll (the old way) would have cost over ten times as many pages.
    assert pages * 10 < sum(math.ceil(n / execution_watch.HISTORY_PAGE_SIZE) for n in sfn.visible_at_polls)
    assert max(sfn.history_pages) <= execution_watch.HISTORY_PAGE_SIZE


def test_polls_back_off_while_nothing_happens_and_reset_when_something_does(clock):
    # Started at 0, one state change at 60 s, finished at 300 s.
    sfn = FakeStepFunctions(clock, [0.0, 60.0, 300.0])
    execution_watch.follow_execution(sfn, sfn.arn, lambda e: None, timeout=600)
    assert clock.sleeps[:6] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]  # doubling to the 5 s cap
    assert max(clock.sleeps) == execution_watch.MAX_POLL_SECONDS
    after_change = next(i for i, t in enumerate(_cumulative(clock.sleeps)) if t >= 60.0)
    assert clock.sleeps[after_change + 1] == 0.5  # something new happened: back to the first interval
    # About 300 s / 5 s polls, not 300 s / 0.5 s.
    assert sfn.calls["DescribeExecution"] < 80 and sfn.calls["GetExecutionHistory"] == sfn.calls["DescribeExecution"]


def test_timeout_is_kept_without_oversleeping(clock):
    sfn = FakeStepFunctions(clock, [0.0, 10_000.0])
    with pytest.raises(TimeoutError, match="still RUNNING after 12s"):
        execution_watch.follow_execution(sfn, sfn.arn, lambda e: None, timeout=12)
    assert clock.now == pytest.approx(12.0)


def test_a_server_that_ignores_reverse_order_and_paging_still_gives_each_event_once(clock):
    class Moto(FakeStepFunctions):  # moto 5.2.1: the whole history, oldest first, no nextToken
        def get_execution_history(self, executionArn: str, **_: Any) -> dict[str, Any]:
            self._count("GetExecutionHistory")
            return {"events": self._visible()}

    sfn = Moto(clock, [i * 1.0 for i in range(40)])
    seen: list[int] = []
    execution_watch.follow_execution(sfn, sfn.arn, lambda e: seen.append(e["id"]), timeout=100)
    assert seen == [e["id"] for e in sfn._visible() if execution_watch.is_progress_event(e)]


class FakeListing:
    """ListExecutions over many past executions, newest first, as the real API orders them."""

    def __init__(self, clock: Clock, past: int, new_at: float | None):
        self.clock, self.new_at = clock, new_at
        self.past = [{"executionArn": f"old-{i}", "startDate": EPOCH - dt.timedelta(hours=i + 1)} for i in range(past)]
        self.calls: list[dict[str, Any]] = []

    def list_executions(self, stateMachineArn: str, maxResults: int = 1000, nextToken: str | None = None) -> dict[str, Any]:
        self.calls.append({"maxResults": maxResults, "nextToken": nextToken})
        new = [] if self.new_at is None or self.clock.now < self.new_at else [
            {"executionArn": "mine", "startDate": EPOCH + dt.timedelta(seconds=self.new_at)}]
        everything = new + self.past
        start = int(nextToken or 0)
        more = start + maxResults < len(everything)
        return {"executions": everything[start:start + maxResults], **({"nextToken": str(start + maxResults)} if more else {})}


def test_waiting_for_the_execution_reads_one_small_page_per_poll(clock):
    sfn = FakeListing(clock, past=500, new_at=20.0)
    arn = execution_watch.wait_for_execution(sfn, "machine", started_after=EPOCH, timeout=60)
    assert arn == "mine"
    assert all(c["maxResults"] == execution_watch.LIST_PAGE_SIZE and c["nextToken"] is None for c in sfn.calls)
    assert len(sfn.calls) <= 8  # 0.5, 1, 2, 4, 5, 5, 5 s ... not one call every 0.5 s


def test_waiting_pages_on_while_every_execution_on_the_page_is_new_enough(clock):
    sfn = FakeListing(clock, past=0, new_at=None)
    sfn.past = [{"executionArn": f"e{i}", "startDate": EPOCH + dt.timedelta(seconds=100 - i)} for i in range(25)]
    assert execution_watch.wait_for_execution(sfn, "machine", started_after=EPOCH, timeout=5) == "e24"  # the earliest
    assert [c["nextToken"] for c in sfn.calls] == [None, "10", "20"]


def test_waiting_times_out(clock):
    sfn = FakeListing(clock, past=3, new_at=None)
    with pytest.raises(TimeoutError, match="no execution of machine started after"):
        execution_watch.wait_for_execution(sfn, "machine", started_after=EPOCH, timeout=30)
    assert clock.now == pytest.approx(30.0)


def _cumulative(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out


@pytest.mark.parametrize(("target", "expected"), [
    ({"endpoint_url": "http://127.0.0.1:4566"}, {"max_poll_interval": execution_watch.DEFAULT_POLL_SECONDS}),
    ({"endpoint_url": "http://localhost:5000"}, {"max_poll_interval": execution_watch.DEFAULT_POLL_SECONDS}),
    ({"endpoint_url": "http://[::1]:5000"}, {"max_poll_interval": execution_watch.DEFAULT_POLL_SECONDS}),
    ({"local": True, "endpoint_url": "http://127.0.0.1:1"}, {"max_poll_interval": execution_watch.DEFAULT_POLL_SECONDS}),
    ({}, {}),  # AWS: the default back-off
    ({"endpoint_url": "https://states.us-east-2.amazonaws.com"}, {}),
])
def test_runs_on_the_local_aws_poll_without_backing_off(target, expected):
    from types import SimpleNamespace

    from deploy.common.aws_common import AwsTarget
    from deploy.common.pipeline_run import poll_settings

    assert poll_settings(SimpleNamespace(target=AwsTarget(region="us-east-2", **target))) == expected
