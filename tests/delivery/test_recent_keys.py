"""The receiver's de-duplication memory: bounded, expiring, releasable, thread-safe."""
from __future__ import annotations

import threading

import pytest

from deploy.common.delivery.recent import RecentKeys


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_claim_once_until_expiry():
    clock = Clock()
    keys = RecentKeys(max_keys=10, ttl_seconds=60, clock=clock)
    assert keys.claim("a") is True
    assert keys.claim("a") is False
    clock.now += 59
    assert keys.claim("a") is False
    clock.now += 2
    assert keys.claim("a") is True


def test_oldest_keys_are_forgotten_beyond_the_bound():
    keys = RecentKeys(max_keys=3, ttl_seconds=60, clock=Clock())
    for key in "abcd":
        assert keys.claim(key)
    assert len(keys) == 3
    assert keys.claim("a") is True  # 'a' was evicted
    assert keys.claim("d") is False


def test_release_lets_a_retry_through():
    keys = RecentKeys(clock=Clock())
    assert keys.claim(("prod", "deploy", "abc"))
    keys.release(("prod", "deploy", "abc"))
    assert keys.claim(("prod", "deploy", "abc"))
    keys.release("never-claimed")  # harmless


def test_concurrent_claims_let_exactly_one_through():
    keys = RecentKeys()
    winners = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        if keys.claim("delivery-1"):
            winners.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert winners == [1]


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError):
        RecentKeys(max_keys=0)
    with pytest.raises(ValueError):
        RecentKeys(ttl_seconds=0)
