"""The Spark worker: one long-lived process holding one SparkSession (one JVM) that runs Glue Spark
job scripts one after another for the local AWS server that started it.

    python spark_worker.py --fd N --work DIR --log FILE

Fd N is the worker's end of a socket pair carrying multiprocessing.connection messages (dicts):
  server -> worker  {"op": "run", "run_id", "script", "argv", "py_paths", "run_dir", "env", "buckets"}
                    {"op": "cancel", "grace"}  the run overran its Timeout: cancel its Spark jobs, stop it
                    {"op": "stop"}       end the session and exit (closing the connection does too)
  worker -> server  {"op": "ready", "seconds"} once the session is up, then after each run
                    {"op": "done", "ok", "error", "cancelled", "wedged", "phases"}
Each run gets what a fresh Glue driver would have: the script runs as __main__ (runpy, a fresh
module namespace) with sys.argv as Glue passes it, its folder and the --extra-py-files on sys.path,
the run's environment, a new SparkSession of its own (spark.newSession(): SQL settings, temporary
views and UDFs start clean; the JVM, its JIT and the SparkContext are shared) that
SparkSession.builder.getOrCreate() and SparkContext() return, and its stdout/stderr (file
descriptors 1 and 2, and the JVM's log lines of the run) in the run's stdout.log/stderr.log.
spark.stop() and SparkContext.stop() are ignored while a script runs (the session outlives it).
After the run, modules imported from the run's own files are forgotten, so the next run imports its
own versions; cached DataFrames are dropped. s3:// paths go through s3_staging.S3Staging.
Failures are an exception (its first line) or SystemExit with a non-zero code.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import importlib
import logging
import os
import runpy
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

try:  # imported as a package module (tests)
    from .glue_launcher import describe_error
    from .s3_staging import S3Staging, hadoop_s3_mapping
    from .spark_settings import spark_conf
except ImportError:  # run by path, as the server starts it: sibling modules
    from glue_launcher import describe_error  # type: ignore[no-redef]
    from s3_staging import S3Staging, hadoop_s3_mapping  # type: ignore[no-redef]
    from spark_settings import spark_conf  # type: ignore[no-redef]

HERE = os.path.dirname(os.path.abspath(__file__))

# (module, class, methods) whose path arguments may be s3 URIs.
SPARK_PATH_METHODS = (
    ("pyspark.sql.readwriter", "DataFrameReader", ("load", "csv", "json", "parquet", "text", "orc")),
    ("pyspark.sql.readwriter", "DataFrameWriter", ("save", "csv", "json", "parquet", "text", "orc")),
    ("pyspark.context", "SparkContext", ("textFile", "wholeTextFiles", "binaryFiles")),
    ("pyspark.rdd", "RDD", ("saveAsTextFile",)),
)
PATH_KEYWORDS = ("path", "paths", "name")
CANCEL_GRACE_SECONDS = 15.0  # after a cancel, how long the script gets to unwind before the worker is wedged


class JobCancelled(BaseException):
    """Raised inside a script whose run overran its Timeout (BaseException: scripts' `except Exception` pass it on)."""


def strings_in(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """The str arguments of a call (positional, and path-like keywords), lists flattened."""
    values = list(args) + [kwargs[k] for k in PATH_KEYWORDS if k in kwargs]
    found: list[str] = []
    for value in values:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found += [v for v in value if isinstance(v, str)]
    return found


def patch_spark_paths(before_use: Any) -> None:
    """Call before_use(str) for each string argument of Spark's path methods, then run them unchanged."""
    for module_name, class_name, methods in SPARK_PATH_METHODS:
        cls = getattr(importlib.import_module(module_name), class_name)
        for method_name in methods:
            original = getattr(cls, method_name)

            @functools.wraps(original)
            def wrapper(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
                for value in strings_in(args, kwargs):
                    before_use(value)
                return __original(self, *args, **kwargs)

            setattr(cls, method_name, wrapper)


@contextlib.contextmanager
def captured_output(stdout_path: Path, stderr_path: Path) -> Iterator[None]:
    """File descriptors 1 and 2 (print, logging, child processes) into the run's files."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(stdout_path, "ab") as out, open(stderr_path, "ab") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def within(path: str | None, roots: list[str]) -> bool:
    if not path:
        return False
    path = os.path.abspath(path)
    return any(path == r or path.startswith(r + os.sep) for r in roots)


class Worker:
    def __init__(self, work: Path, log_path: Path):
        self.work = work
        self.log_path = log_path
        self.in_run = False
        self.staging: S3Staging | None = None
        self.staging_root = work / "s3"
        self.mounted: set[str] = set()
        self._clients: dict[tuple[str, str], Any] = {}
        self._run_roots: list[str] = []
        self._log_handlers = list(logging.root.handlers)
        started = time.monotonic()
        self.spark = self._start_session()
        self.startup_seconds = time.monotonic() - started

    # ---- the session ------------------------------------------------------------------------
    def _start_session(self) -> Any:
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.appName("local-aws-glue")
        for key, value in spark_conf(self.work).items():
            builder = builder.config(key, value)
        for key, value in hadoop_s3_mapping([], self.staging_root).items():
            builder = builder.config(f"spark.hadoop.{key}", value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("WARN")
        self._keep_alive()
        patch_spark_paths(self._before_use)
        # Warm up the planner and the JVM's JIT on a tiny query, and import what scripts use.
        import pyspark.sql.functions  # noqa: F401
        import pyspark.sql.window  # noqa: F401

        spark.range(1).selectExpr("id + 1 AS x").collect()
        self._s3(dict(os.environ))  # boto3's first client loads its models: not on the first run's clock
        return spark

    def _keep_alive(self) -> None:
        """While a script runs: stop() keeps the session, SparkContext() is the running context."""
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        worker = self
        for cls in (SparkSession, SparkContext):
            original_stop = cls.stop

            def stop(self: Any, __original: Any = original_stop) -> None:
                if worker.in_run:
                    print("[local glue] stop() ignored: the Spark worker keeps its session for the next run",
                          file=sys.stderr)
                    return
                __original(self)

            cls.stop = stop  # type: ignore[method-assign]

        original_init = SparkContext.__init__

        def new(cls: type, *args: Any, **kwargs: Any) -> Any:
            active = SparkContext._active_spark_context
            if worker.in_run and active is not None and type(active) is cls:
                return active
            return object.__new__(cls)

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            if self is SparkContext._active_spark_context and getattr(self, "_jsc", None) is not None:
                return
            original_init(self, *args, **kwargs)

        SparkContext.__new__ = staticmethod(new)  # type: ignore[assignment]
        SparkContext.__init__ = init  # type: ignore[method-assign]

    def _before_use(self, value: str) -> None:
        if self.staging is not None:
            self.staging.stage_uri(value)

    def _mount(self, buckets: list[str]) -> None:
        conf = self.spark.sparkContext._jsc.hadoopConfiguration()
        for key, value in hadoop_s3_mapping([b for b in buckets if b not in self.mounted], self.staging_root).items():
            conf.set(key, value)
        self.mounted.update(buckets)

    def _s3(self, env: dict[str, str]) -> Any:
        import boto3

        key = (env.get("AWS_ENDPOINT_URL", ""), env.get("AWS_REGION", ""))
        if key not in self._clients:
            self._clients[key] = boto3.client(
                "s3", endpoint_url=key[0] or None, region_name=key[1] or None,
                aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"), aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
                aws_session_token=env.get("AWS_SESSION_TOKEN"))
        return self._clients[key]

    # ---- one run ----------------------------------------------------------------------------
    def run(self, request: dict[str, Any], conn: Connection) -> dict[str, Any]:
        run_dir = Path(request["run_dir"])
        self._run_roots = [os.path.dirname(request["script"]), *request["py_paths"]]
        stdout_path, stderr_path = run_dir / "stdout.log", run_dir / "stderr.log"
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        phases: dict[str, Any] = {}
        outcome: dict[str, Any] = {"ok": True, "error": None, "cancelled": False, "wedged": False}
        started = time.monotonic()
        self.staging = S3Staging(root=self.staging_root, client=self._s3(request["env"]),
                                 buckets=set(request["buckets"]))
        try:
            with captured_output(stdout_path, stderr_path):
                try:
                    self._mount(request["buckets"])
                    self.staging.prepare()
                    self.staging.stage_arguments(request["argv"])
                except Exception as exc:  # noqa: BLE001 - the run fails, the worker goes on
                    traceback.print_exc()
                    outcome.update(ok=False, error=f"staging S3 objects for the run failed: {describe_error(exc)}")
                    return self._done(outcome, phases)
                phases["stage_in_s"] = round(time.monotonic() - started, 3)
                script_started = time.monotonic()
                result = self._run_script(request, conn)
                outcome.update(result)
                phases["script_s"] = round(time.monotonic() - script_started, 3)
                if outcome["wedged"]:
                    return self._done(outcome, phases)  # the server recycles this worker; S3 is left as it is
                write_started = time.monotonic()
                try:
                    summary = self.staging.write_back()
                    print(f"[local glue] staged {len(self.staging.staged)} objects "
                          f"({self.staging.downloaded_bytes / 1e6:.1f} MB) in {phases['stage_in_s']:.2f}s and on use; "
                          f"wrote back {summary['uploaded']} ({summary['uploaded_bytes'] / 1e6:.1f} MB), "
                          f"deleted {summary['deleted']} in {time.monotonic() - write_started:.2f}s; "
                          f"script {phases['script_s']:.2f}s", file=sys.stderr)
                    phases.update(summary)
                except Exception as exc:  # noqa: BLE001
                    traceback.print_exc()
                    if outcome["ok"]:
                        outcome.update(ok=False, error=f"writing the run's files back to S3 failed: {describe_error(exc)}")
                phases["write_back_s"] = round(time.monotonic() - write_started, 3)
        finally:
            self._append_jvm_log(log_start, stderr_path)
            self._reset_after_run()
        return self._done(outcome, phases)

    @staticmethod
    def _done(outcome: dict[str, Any], phases: dict[str, Any]) -> dict[str, Any]:
        return {"op": "done", **outcome, "phases": phases}

    def _run_script(self, request: dict[str, Any], conn: Connection) -> dict[str, Any]:
        """Run the script in a thread of its own, so that a cancel can reach it; wait for it or a cancel."""
        result: dict[str, Any] = {"ok": True, "error": None}
        session = self.spark.newSession()

        def target() -> None:
            try:
                self._execute(request, session)
            except SystemExit as exc:
                if exc.code not in (None, 0):
                    result.update(ok=False, error=f"SystemExit: {exc.code}")
            except JobCancelled:
                result.update(ok=False, error="cancelled: the run overran its timeout")
            except BaseException as exc:  # noqa: BLE001 - report every failure of the script
                traceback.print_exc()
                result.update(ok=False, error=describe_error(exc))

        thread = threading.Thread(target=target, name=f"glue-{request['run_id'][:12]}", daemon=True)
        self.in_run = True
        thread.start()
        cancelled = wedged = False
        while thread.is_alive():
            thread.join(0.1)
            message = conn.recv() if thread.is_alive() and conn.poll() else {}
            if message.get("op") == "cancel":
                cancelled = True
                wedged = not self._cancel(thread, request["run_id"], message.get("grace", CANCEL_GRACE_SECONDS))
                break
        return {**result, "cancelled": cancelled, "wedged": wedged,
                **({"ok": False, "error": "cancelled: the run overran its timeout"} if cancelled else {})}

    def _execute(self, request: dict[str, Any], session: Any) -> None:
        from pyspark.sql import SparkSession

        script = request["script"]
        sc = self.spark.sparkContext
        SparkSession._instantiatedSession = session
        SparkSession._activeSession = session
        sc._jvm.SparkSession.setDefaultSession(session._jsparkSession)
        sc._jvm.SparkSession.setActiveSession(session._jsparkSession)
        sc.setJobGroup(request["run_id"], f"Glue run {request['run_id']}", interruptOnCancel=True)
        # Python UDFs run in Spark's Python workers: they import the --extra-py-files too (as Glue's
        # executors do). A worker pool per distinct path; the server keeps the path per code version.
        saved_worker_env = dict(sc.environment)
        sc.environment["PYTHONPATH"] = os.pathsep.join(request["py_paths"])
        saved_path, saved_argv, saved_cwd = list(sys.path), list(sys.argv), os.getcwd()
        sys.path[:] = [os.path.dirname(script), *request["py_paths"],
                       *(p for p in saved_path if os.path.abspath(p or ".") != HERE)]
        sys.argv = [script, *request["argv"]]
        os.chdir(request["run_dir"])
        try:
            with environment(request["env"]):
                runpy.run_path(script, run_name="__main__")
        finally:
            os.chdir(saved_cwd)
            sys.path[:] = saved_path
            sys.argv = saved_argv
            sc.environment.clear()
            sc.environment.update(saved_worker_env)

    def _cancel(self, thread: threading.Thread, group: str, grace: float) -> bool:
        """Cancel the run's Spark jobs and raise JobCancelled in its thread; False if it does not end."""
        print(f"[local glue] run {group} overran its timeout: cancelling its Spark jobs", file=sys.stderr)
        with contextlib.suppress(Exception):
            self.spark.sparkContext.cancelJobGroup(group)
        deadline = time.monotonic() + grace
        while thread.is_alive() and time.monotonic() < deadline:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(JobCancelled))
            thread.join(0.5)
        return not thread.is_alive()

    def _append_jvm_log(self, start: int, stderr_path: Path) -> None:
        """The JVM writes to the worker's log; the part written during the run goes to the run's stderr."""
        with contextlib.suppress(OSError):
            with open(self.log_path, "rb") as log:
                log.seek(start)
                text = log.read()
            if text:
                with open(stderr_path, "ab") as err:
                    err.write(text)

    def _reset_after_run(self) -> None:
        from pyspark.sql import SparkSession

        self.in_run = False
        roots = [os.path.abspath(p) for p in self._run_roots]
        for name, module in list(sys.modules.items()):
            if within(getattr(module, "__file__", None), roots):
                del sys.modules[name]
        logging.root.handlers = list(self._log_handlers)
        SparkSession._instantiatedSession = self.spark
        SparkSession._activeSession = self.spark
        with contextlib.suppress(Exception):
            jvm = self.spark.sparkContext._jvm
            jvm.SparkSession.setDefaultSession(self.spark._jsparkSession)
            jvm.SparkSession.setActiveSession(self.spark._jsparkSession)
            self.spark.catalog.clearCache()
        if self.staging is not None:
            with contextlib.suppress(OSError):
                self.staging.clear()
        self.staging = None

    def serve(self, conn: Connection) -> None:
        conn.send({"op": "ready", "seconds": self.startup_seconds})
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            op = message.get("op")
            if op == "stop":
                return
            if op == "run":
                conn.send(self.run(message, conn))
            # a "cancel" for a run that has ended already is dropped


def _exit_with_parent() -> None:
    """End (and so end the JVM, which exits when our pipe to it closes) if the server dies without killing us."""
    parent = os.getppid()
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(3)


def main() -> int:
    parser = argparse.ArgumentParser(description="The local AWS's Spark worker (started by the server).")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()
    conn = Connection(args.fd)
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        worker = Worker(args.work.resolve(), args.log)
    except BaseException as exc:  # noqa: BLE001 - tell the server why, then exit
        traceback.print_exc()
        with contextlib.suppress(OSError):
            conn.send({"op": "failed", "error": describe_error(exc)})
        return 1
    worker.serve(conn)
    with contextlib.suppress(Exception):
        worker.in_run = False
        worker.spark.stop()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
