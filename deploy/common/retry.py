"""Waiting out what AWS says is temporary: keyed on error codes *and* messages, with time budgets.

botocore's retry modes handle throttling, 5xx and lost connections. What they do not know: a role
created a second ago that Lambda, Glue or Step Functions cannot assume yet, or a function whose
previous update is still in progress. Those are retried here with exponential backoff until a
budget of wall-clock time runs out — minutes, as the Terraform AWS provider allows (IAM
propagation: 2 minutes, internal/service/iam/consts.go; Lambda: 15 minutes,
internal/service/lambda/consts.go), not a handful of attempts.

While a handler waits, it says so through ``report``: the engine installs a per-thread reporter
for the change being applied, so the progress display shows what is being waited for.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import ClientError

from .errors import AwsCallError

T = TypeVar("T")


@dataclass(frozen=True)
class Transient:
    """An error worth retrying: its code, and a fragment of its message (case-insensitive)."""

    code: str
    message_contains: str = ""
    why: str = "AWS reports a temporary condition"

    def matches(self, exc: ClientError) -> bool:
        error = exc.response.get("Error", {})
        return error.get("Code") == self.code and self.message_contains.lower() in error.get("Message", "").lower()


# A role just created or changed is not yet visible to the service that must assume it.
_PROPAGATION = "waiting for IAM role propagation"
LAMBDA_ROLE_NOT_READY = (
    Transient("InvalidParameterValueException", "cannot be assumed by Lambda", _PROPAGATION),
    Transient("InvalidParameterValueException", "The provided execution role does not have permissions", _PROPAGATION),
)
GLUE_ROLE_NOT_READY = (
    Transient("InvalidInputException", "Service is unable to assume provided role", _PROPAGATION),
    Transient("InvalidInputException", "Please verify the role's TrustPolicy", _PROPAGATION),
)
SFN_ROLE_NOT_READY = (
    Transient("AccessDeniedException", "is authorized to assume the provided role", _PROPAGATION),
    Transient("AccessDeniedException", "not authorized to access the Log Destination", _PROPAGATION),
)
LAMBDA_UPDATE_IN_PROGRESS = (
    Transient("ResourceConflictException", "update is in progress", "waiting for the function's previous update"),
    Transient("ResourceConflictException", "currently in the following state: Pending", "waiting for the function to become Active"),
)
CRAWLER_RUNNING = (Transient("CrawlerRunningException", "", "waiting for the crawler's run to end"),)
S3_CONDITIONAL_CONFLICT = (Transient("ConditionalRequestConflict", "", "a concurrent S3 operation on the key"),)


@dataclass(frozen=True)
class Budgets:
    """Wall-clock seconds to keep retrying each kind of temporary condition."""

    role_propagation: float = 120.0   # Terraform: iamPropagationTimeout = 2 * time.Minute
    update_in_progress: float = 900.0  # Terraform: lambdaPropagationTimeout = 15 * time.Minute
    crawler_running: float = 900.0     # a crawl of a large prefix takes minutes
    read_after_write: float = 120.0    # a Step Functions update becoming visible
    partial_failure: float = 60.0      # EventBridge target entries failed by concurrent modification
    s3_conflict: float = 30.0


# Module state, overridable in tests: the budgets, and the clock and sleep used by the waits.
budgets = Budgets()
sleep: Callable[[float], None] = time.sleep
clock: Callable[[], float] = time.monotonic

_reporter = threading.local()


@contextmanager
def reporting(callback: Callable[[str], None]) -> Iterator[None]:
    """Route ``report`` calls made on this thread to ``callback`` (the engine does this per change)."""
    previous = getattr(_reporter, "callback", None)
    _reporter.callback = callback
    try:
        yield
    finally:
        _reporter.callback = previous


def report(message: str) -> None:
    callback = getattr(_reporter, "callback", None)
    if callback is not None:
        callback(message)


def backoff(attempt: int, base: float = 0.5, cap: float = 5.0) -> float:
    return min(cap, base * 2 ** (attempt - 1))


def call_with_retries(call: Callable[[], T], transient: tuple[Transient, ...], budget: float,
                      what: str = "") -> T:
    """Run ``call``; on a matching transient error wait (backing off) and try again until ``budget`` seconds pass."""
    deadline = clock() + budget
    attempt = 0
    while True:
        try:
            return call()
        except ClientError as exc:
            match = next((t for t in transient if t.matches(exc)), None)
            if match is None:
                raise
            attempt += 1
            delay = backoff(attempt)
            if clock() + delay > deadline:
                raise
            report(f"{match.why}{f' ({what})' if what else ''}: {exc.response['Error'].get('Code')}, "
                   f"retry {attempt} in {delay:.1f}s")
            sleep(delay)


class WaitTimeout(AwsCallError):
    """A bounded wait ran out; the message names what was waited for."""


def wait_until(probe: Callable[[], T | None], budget: float, what: str, interval: float = 1.0, cap: float = 10.0) -> T:
    """Poll ``probe`` (backing off from ``interval`` to ``cap``) until it returns a value; WaitTimeout after ``budget``."""
    deadline = clock() + budget
    attempt = 0
    while True:
        value = probe()
        if value is not None:
            return value
        attempt += 1
        delay = min(cap, interval * 1.5 ** (attempt - 1))
        if clock() + delay > deadline:
            raise WaitTimeout(f"{what}: still not done after {budget:.0f}s")
        report(f"{what} ({clock() - deadline + budget:.0f}s)")
        sleep(delay)
