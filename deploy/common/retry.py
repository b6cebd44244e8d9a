"""Bounded retries for AWS's known eventual-consistency errors.

botocore's retry modes handle throttling and 5xx. What they do not know: a role created a
second ago that Lambda cannot assume yet, or a function whose previous update is still in
progress. Those are retried here, a few times with exponential backoff, then fail.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")


@dataclass(frozen=True)
class Transient:
    """An error worth retrying: its code, and optionally a fragment of its message."""

    code: str
    message_contains: str = ""

    def matches(self, exc: ClientError) -> bool:
        error = exc.response.get("Error", {})
        return error.get("Code") == self.code and self.message_contains.lower() in error.get("Message", "").lower()


ROLE_NOT_READY = (
    Transient("InvalidParameterValueException", "cannot be assumed"),
    Transient("InvalidParameterValueException", "role defined for the function"),
    Transient("AccessDeniedException", "not authorized to perform: iam:PassRole"),
    Transient("InvalidInputException", "Service is unable to assume"),
    Transient("InvalidArn", "role"),
)
UPDATE_IN_PROGRESS = (Transient("ResourceConflictException"), Transient("ConcurrentModificationException"))

# Overridable in tests so the backoff costs no real time.
sleep: Callable[[float], None] = time.sleep


def call_with_retries(call: Callable[[], T], transient: tuple[Transient, ...], attempts: int = 6, base_delay: float = 1.0,
                      max_delay: float = 10.0) -> T:
    """Run ``call``; on a matching transient error wait and try again, at most ``attempts`` times."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ClientError as exc:
            if attempt == attempts or not any(t.matches(exc) for t in transient):
                raise
            sleep(min(max_delay, base_delay * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")
