"""Failed Jenkins triggers, kept so that no event is lost silently.

An append-only JSON Lines file: one ``failed`` record per build Jenkins did not accept (with the
delivery id and the exact build parameters), and one ``replayed`` record when ``webhook replay``
later queued it. Holds no secrets and no raw payload (which carries people's names and emails).
"""
from __future__ import annotations

import json
import os
import threading
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

from .errors import DeliveryError


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DeadLetters:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    def record_failure(self, delivery_id: str, event_key: str, summary: str, parameters: dict[str, str], error: str) -> None:
        self._append(
            {"type": "failed", "time": _now(), "delivery_id": delivery_id, "event_key": event_key,
             "event": summary, "parameters": parameters, "error": error}
        )

    def record_replay(self, delivery_id: str, parameters: dict[str, str], queue_url: str) -> None:
        self._append(
            {"type": "replayed", "time": _now(), "delivery_id": delivery_id, "parameters": parameters, "queue_url": queue_url}
        )

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        result = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                result.append(json.loads(line))
            except json.JSONDecodeError:
                raise DeliveryError(f"{self.path}: line {number} is not valid JSON") from None
        return result

    def pending(self, delivery_id: str) -> tuple[list[dict[str, Any]], int]:
        """Failed builds of a delivery not replayed yet (one per distinct parameter set), and how many
        records the delivery has at all."""
        mine = [r for r in self.records() if r.get("delivery_id") == delivery_id]
        replayed = {json.dumps(r.get("parameters"), sort_keys=True) for r in mine if r.get("type") == "replayed"}
        pending: dict[str, dict[str, Any]] = {}
        for record in mine:
            key = json.dumps(record.get("parameters"), sort_keys=True)
            if record.get("type") == "failed" and key not in replayed:
                pending.setdefault(key, record)
        return list(pending.values()), len(mine)
