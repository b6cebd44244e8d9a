"""The server's Spark worker: one process (runtime/spark_worker.py) holding one SparkSession, so Glue
Spark runs share one warm JVM instead of starting Python and a JVM each.

Started on the first Glue Spark run (a server that only deploys never starts a JVM), kept for the
server's lifetime, and ended with it (a tracked child in its own process group, killed with its JVM
by processes.terminate_all). Runs are serialized: one script at a time; a run that starts while
another runs waits for it (RUNNING meanwhile), and its Timeout counts from when it is sent to the
worker. A run that overruns its Timeout is cancelled (its Spark jobs and then its thread); if it does
not end within the grace period, or the worker dies, the worker is killed and the next run starts a
new one. Its own log (and the JVM's) is <state dir>/work/spark-worker/worker.log.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from deploy.local_aws.extensions.child_env import SPARK_PASSTHROUGH, child_env
from deploy.local_aws.extensions.processes import kill_group, track, untrack
from deploy.local_aws.runtime.spark_settings import ENV_DRIVER_MEMORY, LOG4J2

LOG = logging.getLogger("local_aws.spark_worker")
WORKER_SCRIPT = Path(__file__).resolve().parent.parent / "runtime" / "spark_worker.py"
START_TIMEOUT_SECONDS = 180.0  # a JVM start on a loaded 2-core machine
CANCEL_GRACE_SECONDS = 15.0  # how long a cancelled script gets to unwind before the worker counts as stuck
LOG_TAIL_CHARS = 2000


class WorkerFailure(Exception):
    """The worker could not start, or died."""


@dataclass
class WorkerResult:
    ok: bool
    error: str | None = None
    timed_out: bool = False
    phases: dict[str, Any] = field(default_factory=dict)


class SparkWorker:
    def __init__(self, work_dir: Path):
        self.work_dir = work_dir
        self.log_path = work_dir / "worker.log"
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self.starts = 0  # how many worker processes were started (tests)
        self.cancel_grace = CANCEL_GRACE_SECONDS
        self._log_start = 0  # where the current worker's lines start in the log

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def run(self, request: dict[str, Any], *, endpoint: str, region: str, timeout: float) -> WorkerResult:
        """Run one script on the worker (starting it if needed); blocks while another run is on it."""
        with self._lock:
            try:
                conn = self._ensure_started(endpoint, region)
                conn.send({"op": "run", **request})
                if conn.poll(timeout):
                    reply = self._receive(conn)
                    return WorkerResult(bool(reply.get("ok")), reply.get("error"), False, reply.get("phases") or {})
                LOG.warning("Glue run %s overran its timeout (%.0fs): cancelling it", request["run_id"], timeout)
                conn.send({"op": "cancel", "grace": self.cancel_grace})
                reply = self._receive(conn) if conn.poll(self.cancel_grace + 15) else {"wedged": True}
                if reply.get("wedged"):
                    LOG.warning("Glue run %s did not stop when cancelled: recycling the Spark worker", request["run_id"])
                    self._kill()
                return WorkerResult(False, None, True, reply.get("phases") or {})
            except WorkerFailure as exc:
                self._kill()
                return WorkerResult(False, str(exc))

    def _ensure_started(self, endpoint: str, region: str) -> Connection:
        if self._proc is not None and self._proc.poll() is None and self._conn is not None:
            return self._conn
        self._kill()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        conf_dir = self.work_dir / "conf"
        conf_dir.mkdir(exist_ok=True)
        (conf_dir / "log4j2.properties").write_text(LOG4J2)
        env = child_env(endpoint=endpoint, region=region, passthrough=SPARK_PASSTHROUGH + (ENV_DRIVER_MEMORY,),
                        extra={"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
                               "SPARK_CONF_DIR": str(conf_dir), "SPARK_LOCAL_IP": "127.0.0.1"})
        ours, theirs = socket.socketpair()
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self._log_start = log.tell()
            proc = subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT), "--fd", str(theirs.fileno()), "--work", str(self.work_dir),
                 "--log", str(self.log_path)],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=str(self.work_dir), env=env, start_new_session=True)
        theirs.close()
        track(proc)
        self._proc, self._conn = proc, Connection(ours.detach())
        self.starts += 1
        if not self._conn.poll(START_TIMEOUT_SECONDS):
            raise WorkerFailure(f"the Spark worker did not start within {START_TIMEOUT_SECONDS:.0f}s; "
                                f"see {self.log_path}")
        hello = self._receive(self._conn)
        if hello.get("op") != "ready":
            raise WorkerFailure(f"the Spark worker could not start: {hello.get('error')}; see {self.log_path}")
        LOG.info("Spark worker %s ready in %.1fs (session %.1fs)", proc.pid, time.monotonic() - started,
                 hello.get("seconds", 0.0))
        return self._conn

    def _receive(self, conn: Connection) -> dict[str, Any]:
        try:
            return conn.recv()
        except (EOFError, OSError):
            code = self._proc.wait(timeout=10) if self._proc is not None else None
            raise WorkerFailure(f"the Spark worker exited (code {code}): {self._log_tail()}") from None

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(max(self._log_start, log.seek(0, 2) - LOG_TAIL_CHARS))
                return log.read().decode("utf-8", errors="replace").strip() or f"see {self.log_path}"
        except OSError:
            return f"see {self.log_path}"

    def _kill(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        if self._proc is not None:
            kill_group(self._proc)
            untrack(self._proc)
        self._proc, self._conn = None, None


_worker: SparkWorker | None = None
_worker_lock = threading.Lock()


def get_worker(work_dir: Path) -> SparkWorker:
    """The server's one Spark worker handle (its process starts on the first run)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = SparkWorker(work_dir)
        return _worker
