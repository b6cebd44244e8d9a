"""Child processes started for Lambda invocations and Glue runs (and the long-lived Spark worker), so
the server can end them when it stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_running: set[subprocess.Popen] = set()


@dataclass(frozen=True)
class ProcessResult:
    returncode: int | None  # None when the process was killed on timeout
    stdout: bytes
    stderr: bytes
    timed_out: bool


def run_tracked(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    stdin: bytes = b"",
    stdout_path: Path | None = None,
    stderr_path: Path | None = None,
) -> ProcessResult:
    """Run cmd in its own process group; on timeout kill the whole group (Spark spawns a JVM)."""
    out_f = open(stdout_path, "wb") if stdout_path else None  # noqa: SIM115 - closed below
    err_f = open(stderr_path, "wb") if stderr_path else None  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            list(cmd),
            env=dict(env),
            cwd=str(cwd),
            stdin=subprocess.PIPE,
            stdout=out_f or subprocess.PIPE,
            stderr=err_f or subprocess.PIPE,
            start_new_session=True,
        )
        with _lock:
            _running.add(proc)
        try:
            stdout, stderr = proc.communicate(stdin, timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            stdout, stderr = proc.communicate()
            timed_out = True
        finally:
            with _lock:
                _running.discard(proc)
    finally:
        for f in (out_f, err_f):
            if f:
                f.close()
    if stdout_path:
        stdout = stdout_path.read_bytes()
    if stderr_path:
        stderr = stderr_path.read_bytes()
    return ProcessResult(None if timed_out else proc.returncode, stdout or b"", stderr or b"", timed_out)


def track(proc: subprocess.Popen) -> None:
    """Have terminate_all() end a long-lived child (started in its own process group) with the server."""
    with _lock:
        _running.add(proc)


def untrack(proc: subprocess.Popen) -> None:
    with _lock:
        _running.discard(proc)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the child's process group (it and what it started, e.g. a JVM) and reap it."""
    _kill_group(proc)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def read_outcome(path: Path) -> dict[str, Any] | None:
    """The JSON outcome file a child writes when it finishes; None if it never wrote one (crash, kill)."""
    try:
        outcome = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return outcome if isinstance(outcome, dict) else None


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def terminate_all() -> None:
    """Kill every child still running (called when the server shuts down)."""
    with _lock:
        procs = list(_running)
    for proc in procs:
        _kill_group(proc)
