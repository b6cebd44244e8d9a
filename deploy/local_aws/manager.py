"""Start, find, and stop the local AWS server as a background process that outlives one CLI run.

The state dir (default: $PIPELINE_DEPLOYER_LOCAL_DIR or <repo root>/.local-aws/) holds:
  server.json  {pid, port, endpoint, started_at, log_path} of the running server
  server.log   the server's output (appended across starts)
  server.lock  serialises concurrent starts
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from deploy.local_aws.admin import LocalAwsError, health

ENV_STATE_DIR = "PIPELINE_DEPLOYER_LOCAL_DIR"
STATE_FILE = "server.json"
LOG_FILE = "server.log"
LOCK_FILE = "server.lock"
SERVER_MODULE = "deploy.local_aws.server"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
REPO_ROOT = Path(__file__).resolve().parents[2]


def default_state_dir() -> Path:
    env = os.environ.get(ENV_STATE_DIR)
    return Path(env) if env else REPO_ROOT / ".local-aws"


@dataclass(frozen=True)
class ServerHandle:
    pid: int
    port: int
    endpoint: str
    started_at: float
    log_path: str
    process: subprocess.Popen | None = None  # only in the process that spawned it

    def record(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "process"}

    def terminate(self, timeout: float = 10.0) -> None:
        """Stop this server (SIGTERM, then SIGKILL after timeout)."""
        _terminate(self.pid, timeout)


def _resolve(state_dir: Path | None) -> Path:
    return Path(state_dir) if state_dir is not None else default_state_dir()


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int) or not record.get("endpoint"):
        return None
    return record


def _write_state(state_dir: Path, record: dict[str, Any]) -> None:
    tmp = state_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
    tmp.replace(state_dir / STATE_FILE)


def _remove_state(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (state_dir / STATE_FILE).unlink()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _start_lock(state_dir: Path) -> Iterator[None]:
    """Serialise starts so two CLI runs at once share one server instead of spawning two."""
    import fcntl

    with open(state_dir / LOCK_FILE, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _looks_like_our_server(pid: int) -> bool:
    """True if pid runs our server module (Linux /proc); False when unknown, so we never signal a stranger."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return SERVER_MODULE.encode() in cmdline


def status(state_dir: Path | None = None) -> dict[str, Any] | None:
    """The recorded server's record plus "healthy" (it answers our health check), or None.

    A stale state file (dead pid, or a pid now used by another program) is removed.
    A live server of ours that does not answer is reported with healthy=False.
    """
    state_dir = _resolve(state_dir)
    record = _read_state(state_dir)
    if record is None:
        return None
    if _pid_alive(record["pid"]):
        answer = health(record["endpoint"])
        if answer is not None and answer.get("pid") == record["pid"]:
            return {**record, "healthy": True, "moto": answer.get("moto"), "state_dir": str(state_dir)}
        if _looks_like_our_server(record["pid"]):
            return {**record, "healthy": False, "state_dir": str(state_dir)}
    _remove_state(state_dir)
    return None


def _server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: ours minus any real AWS settings, plus dummy credentials (and ``extra``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(extra or {})
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-2")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn_server(
    state_dir: Path,
    *,
    detach: bool = True,
    exit_with_pid: int | None = None,
    timeout: float = START_TIMEOUT_SECONDS,
    extra_env: dict[str, str] | None = None,
) -> ServerHandle:
    """Start the server on a free loopback port (chosen by the OS) and wait until it answers.

    ``extra_env`` reaches the server process, e.g. PIPELINE_DEPLOYER_REALISM to change its realism settings."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    ready_file = state_dir / f"server.ready.{os.getpid()}.{time.monotonic_ns()}.json"
    cmd = [sys.executable, "-m", SERVER_MODULE, "--host", "127.0.0.1", "--port", "0",
           "--state-dir", str(state_dir), "--ready-file", str(ready_file)]
    if exit_with_pid is not None:
        cmd += ["--exit-with-pid", str(exit_with_pid)]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=str(REPO_ROOT), env=_server_env(extra_env), start_new_session=detach)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                raise LocalAwsError(f"local AWS server exited with code {code} while starting; see {log_path}")
            ready = _read_ready(ready_file)
            if ready is not None:
                answer = health(ready["endpoint"])
                if answer is not None and answer.get("pid") == proc.pid:
                    return ServerHandle(proc.pid, ready["port"], ready["endpoint"],
                                        float(answer.get("started_at", time.time())), str(log_path), proc)
            time.sleep(0.1)
        _terminate(proc.pid)
        raise LocalAwsError(f"local AWS server did not answer within {timeout:.0f}s; see {log_path}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            ready_file.unlink()


def _read_ready(path: Path) -> dict[str, Any] | None:
    try:
        ready = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return ready if isinstance(ready, dict) and ready.get("endpoint") else None


def ensure_running(state_dir: Path | None = None, *, timeout: float = START_TIMEOUT_SECONDS) -> str:
    """Endpoint URL of the local AWS server, reusing a healthy one or starting a new one."""
    state_dir = _resolve(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    with _start_lock(state_dir):
        current = status(state_dir)
        if current is not None and current["healthy"]:
            return current["endpoint"]
        if current is not None:  # ours but hung: replace it
            _terminate(current["pid"])
        handle = spawn_server(state_dir, detach=True, timeout=timeout)
        _write_state(state_dir, handle.record())
        return handle.endpoint


def _terminate(pid: int, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM the server's process group (it owns Lambda/Spark children), then SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _reaped_or_gone(pid):
                return
            time.sleep(0.05)


def _reaped_or_gone(pid: int) -> bool:
    """True while pid still runs. Reaps it if it is our child (a zombie would look alive)."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return _pid_alive(pid)


def stop(state_dir: Path | None = None, *, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """Stop the recorded server. True if one was running and is now stopped; a stale record is just removed."""
    state_dir = _resolve(state_dir)
    current = status(state_dir)  # only a pid that is our server is ever signalled
    if current is None:
        return False
    _terminate(current["pid"], timeout)
    _remove_state(state_dir)
    return True
