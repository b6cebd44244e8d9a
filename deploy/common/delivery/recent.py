"""A bounded, expiring set of recently seen keys: the receiver's memory for de-duplication.

In memory and per process: a restart forgets, and several receiver processes do not share it.
That is enough for Bitbucket's retries and a merge's double event, which come within minutes.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class RecentKeys:
    """``claim`` a key once within ``ttl_seconds``; at most ``max_keys`` are remembered (oldest go first)."""

    def __init__(self, max_keys: int = 10_000, ttl_seconds: float = 3600.0, clock: Callable[[], float] = time.monotonic):
        if max_keys < 1 or ttl_seconds <= 0:
            raise ValueError("max_keys and ttl_seconds must be positive")
        self.max_keys = max_keys
        self.ttl = ttl_seconds
        self._clock = clock
        self._seen: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._seen:
            key, since = next(iter(self._seen.items()))
            if now - since < self.ttl and len(self._seen) <= self.max_keys:
                break
            self._seen.popitem(last=False)

    def claim(self, key: Hashable) -> bool:
        """True the first time (the caller goes on); False while the key is remembered."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if key in self._seen:
                return False
            self._seen[key] = now
            self._expire(now)
            return True

    def release(self, key: Hashable) -> None:
        """Forget a key (its handling failed, so a retry must go through)."""
        with self._lock:
            self._seen.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._seen)
