"""Settings the extensions need at request time (our endpoint, where to keep work files), set once at startup."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class LocalContext:
    endpoint: str  # e.g. http://127.0.0.1:4566 — what code we run must call back into
    state_dir: Path  # work files: extracted Lambda code, Glue run dirs and their logs

    @property
    def work_dir(self) -> Path:
        return self.state_dir / "work"


_context: LocalContext | None = None


def set_context(context: LocalContext) -> None:
    global _context
    _context = context


def get_context() -> LocalContext:
    if _context is None:
        raise RuntimeError("local AWS extensions used before apply_all() set their context")
    return _context
