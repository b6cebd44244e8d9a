"""The receiver's de-duplication memory: bounded, expiring, releasable, thread-safe, persisted in SQLite."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from deploy.delivery.errors import DeliveryError
from deploy.delivery.recent import RecentKeys


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


def test_claim_once_until_expiry(state):
    clock = Clock()
    keys = RecentKeys(state, "delivery", max_keys=10, ttl_seconds=60, clock=clock)
    assert keys.claim("a") is True
    assert keys.claim("a") is False
    clock.now += 59
    assert keys.claim("a") is False
    clock.now += 2
    assert keys.claim("a") is True


def test_oldest_keys_are_forgotten_beyond_the_bound(state):
    clock = Clock()
    keys = RecentKeys(state, "delivery", max_keys=3, ttl_seconds=60, clock=clock)
    for key in "abcd":
        clock.now += 1
        assert keys.claim(key)
    assert len(keys) == 3
    assert keys.claim("a") is True  # 'a' was evicted
    assert keys.claim("d") is False


def test_several_keys_are_claimed_all_or_none(state):
    keys = RecentKeys(state, "delivery", clock=Clock())
    assert keys.claim("id:1", "sha256:aa") is True
    assert keys.claim("id:2", "sha256:aa") is False  # same body, new delivery id
    assert keys.claim("id:1", "sha256:bb") is False  # same delivery id, other body
    assert keys.claim("id:2", "sha256:bb") is True  # nothing of the refused claims was remembered


def test_release_lets_a_retry_through(state):
    keys = RecentKeys(state, "deployment", clock=Clock())
    assert keys.claim("prod:deploy:abc", "x")
    keys.release("prod:deploy:abc", "x")
    assert keys.claim("prod:deploy:abc", "x")
    keys.release("never-claimed")  # harmless


def test_kinds_are_separate_and_memory_survives_a_restart(state):
    clock = Clock()
    RecentKeys(state, "delivery", clock=clock).claim("k")
    assert RecentKeys(state, "deployment", clock=clock).claim("k") is True
    again = RecentKeys(state, "delivery", clock=clock)  # a new process would open the file the same way
    assert again.claim("k") is False
    assert len(again) == 1


def test_another_process_sharing_the_file_sees_the_claim(state):
    RecentKeys(state, "delivery").claim("from-here")
    code = ("import sys; from deploy.delivery.recent import RecentKeys; "
            "keys = RecentKeys(sys.argv[1], 'delivery'); print(keys.claim('from-here'), keys.claim('from-there'))")
    result = subprocess.run([sys.executable, "-c", code, str(state)], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["False", "True"]
    assert RecentKeys(state, "delivery").claim("from-there") is False


def test_concurrent_claims_let_exactly_one_through(state):
    stores = [RecentKeys(state, "delivery"), RecentKeys(state, "delivery")]  # two connections, as two processes have
    winners = []
    barrier = threading.Barrier(8)

    def worker(number: int) -> None:
        barrier.wait()
        if stores[number % 2].claim("delivery-1"):
            winners.append(number)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_bad_bounds_and_an_unusable_file_are_refused(state, tmp_path: Path):
    with pytest.raises(ValueError):
        RecentKeys(state, "delivery", max_keys=0)
    with pytest.raises(ValueError):
        RecentKeys(state, "delivery", ttl_seconds=0)
    with pytest.raises(DeliveryError, match=r"no-such-dir/state.sqlite3: cannot open the de-duplication state"):
        RecentKeys(tmp_path / "no-such-dir" / "state.sqlite3", "delivery")
