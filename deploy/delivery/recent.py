"""A bounded, expiring set of recently seen keys: the receiver's memory for de-duplication.

Kept in a SQLite file (stdlib ``sqlite3``), so a restart remembers what was handled, and receiver
processes on one host that share the file share the memory (each claim is one ``BEGIN IMMEDIATE``
transaction). The file must be on a local disk: SQLite's locking is unreliable on network file
systems. Times are wall-clock seconds, since they outlive the process.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .errors import DeliveryError

T = TypeVar("T")

_SCHEMA = "CREATE TABLE IF NOT EXISTS seen (kind TEXT NOT NULL, key TEXT NOT NULL, seen_at REAL NOT NULL, PRIMARY KEY (kind, key))"


class RecentKeys:
    """``claim`` keys once within ``ttl_seconds``; at most ``max_keys`` of one ``kind`` are remembered
    (oldest go first). Several kinds may share one file."""

    def __init__(self, path: Path | str, kind: str, max_keys: int = 10_000, ttl_seconds: float = 3600.0,
                 clock: Callable[[], float] = time.time):
        if max_keys < 1 or ttl_seconds <= 0:
            raise ValueError("max_keys and ttl_seconds must be positive")
        self.path = Path(path)
        self.kind = kind
        self.max_keys = max_keys
        self.ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise DeliveryError(f"{self.path}: cannot open the de-duplication state ({exc})") from None

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes too
            try:
                result = work(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

    def _expire(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM seen WHERE kind = ? AND seen_at <= ?", (self.kind, self._clock() - self.ttl))

    def claim(self, *keys: str) -> bool:
        """True when none of ``keys`` is remembered: all are remembered now and the caller goes on.
        False when any one is (a duplicate): nothing changes."""

        def work(db: sqlite3.Connection) -> bool:
            self._expire(db)
            marks = ",".join("?" * len(keys))
            if db.execute(f"SELECT 1 FROM seen WHERE kind = ? AND key IN ({marks}) LIMIT 1", (self.kind, *keys)).fetchone():
                return False
            now = self._clock()
            db.executemany("INSERT INTO seen (kind, key, seen_at) VALUES (?, ?, ?)", [(self.kind, k, now) for k in keys])
            db.execute("DELETE FROM seen WHERE kind = ? AND rowid NOT IN (SELECT rowid FROM seen WHERE kind = ?"
                       " ORDER BY seen_at DESC, rowid DESC LIMIT ?)", (self.kind, self.kind, self.max_keys))
            return True

        return self._transaction(work)

    def release(self, *keys: str) -> None:
        """Forget keys (their handling failed, so a retry must go through)."""

        def work(db: sqlite3.Connection) -> None:
            db.executemany("DELETE FROM seen WHERE kind = ? AND key = ?", [(self.kind, k) for k in keys])

        self._transaction(work)

    def __len__(self) -> int:
        def work(db: sqlite3.Connection) -> int:
            self._expire(db)
            return db.execute("SELECT count(*) FROM seen WHERE kind = ?", (self.kind,)).fetchone()[0]

        return self._transaction(work)

    def close(self) -> None:
        with self._lock:
            self._db.close()
