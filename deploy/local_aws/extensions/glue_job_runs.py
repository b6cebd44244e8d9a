"""Glue StartJobRun executes the deployed script: Spark jobs on the server's warm Spark worker,
Python shell jobs in a Python process of their own.

moto 5.2.1 records a job run and reports it SUCCEEDED without running anything. We keep moto's run
record (so GetJobRun/GetJobRuns/MaxConcurrentRuns work) but freeze its state machine and drive it
ourselves from a background thread: RUNNING -> SUCCEEDED | FAILED | TIMEOUT. The thread downloads
Command.ScriptLocation and every --extra-py-files object from the local S3 into
<state dir>/work/glue-runs/<job>/<run id>/, and runs the script with --JOB_NAME name --JOB_RUN_ID id
--k v ... (DefaultArguments merged with the run's Arguments, as moto merges them):
- a Spark job (Command.Name glueetl or gluestreaming) on the Spark worker (spark_worker.py): one
  long-lived process with one SparkSession, started on the first run, which runs scripts one at a
  time; Spark reads and writes s3:// paths through runtime/s3_staging.py (only the prefixes the
  job touches are copied, and what it writes is uploaded when it ends);
- any other job (pythonshell) as `python runtime/glue_launcher.py SCRIPT ARGS` (no Spark; boto3
  reaches the local S3 directly).
ErrorMessage comes from the script's exception (or the tail of stderr). Output goes to CloudWatch
Logs /aws-glue/jobs/output and /aws-glue/jobs/error (stream = run id) and to the run's folder.
Not emulated: --additional-python-modules, connections, bookmarks, worker sizing, GlueContext/awsglue.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from moto.core.utils import utcnow
from moto.glue.models import FakeJob, FakeJobRun, GlueBackend

from deploy.local_aws.extensions.child_env import child_env
from deploy.local_aws.extensions.context import DUMMY_CREDENTIALS, get_context
from deploy.local_aws.extensions.patching import wrap_method
from deploy.local_aws.extensions.processes import read_outcome, run_tracked
from deploy.local_aws.extensions.spark_worker import get_worker
from deploy.local_aws.runtime.s3_staging import parse_s3_uri

LOG = logging.getLogger("local_aws.glue")
LAUNCHER = Path(__file__).resolve().parent.parent / "runtime" / "glue_launcher.py"
SPARK_COMMANDS = ("glueetl", "gluestreaming")
DEFAULT_TIMEOUT_MINUTES = 2880
ERROR_TAIL_CHARS = 2000
LOG_GROUP_OUTPUT = "/aws-glue/jobs/output"
LOG_GROUP_ERROR = "/aws-glue/jobs/error"
_code_lock = threading.Lock()


def script_arguments(job_name: str, run_id: str, arguments: dict[str, str]) -> list[str]:
    """sys.argv[1:] as Glue gives it to the script: --JOB_NAME, --JOB_RUN_ID, then every --key value."""
    argv = ["--JOB_NAME", job_name, "--JOB_RUN_ID", run_id]
    for key, value in arguments.items():
        if key in ("--JOB_NAME", "--JOB_RUN_ID"):
            continue
        argv += [key if key.startswith("--") else f"--{key}", str(value)]
    return argv


def extra_py_files(arguments: dict[str, str]) -> list[str]:
    return [p.strip() for p in arguments.get("--extra-py-files", "").split(",") if p.strip()]


def error_message(outcome: dict[str, Any] | None, stderr: bytes, returncode: int | None) -> str:
    if outcome and outcome.get("error"):
        return str(outcome["error"])
    tail = stderr.decode("utf-8", errors="replace").strip()[-ERROR_TAIL_CHARS:]
    return tail or f"job process exited with code {returncode}"


def _download(s3: Any, uri: str, target_dir: Path, what: str) -> Path:
    parsed = parse_s3_uri(uri)
    if parsed is None or not parsed[1]:
        raise RuntimeError(f"{what} {uri!r} is not an s3://bucket/key URI")
    bucket, key = parsed
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / Path(key).name
    try:
        s3.download_file(bucket, key, str(target))
    except Exception as exc:  # noqa: BLE001 - reported as the run's error
        raise RuntimeError(f"{what} {uri}: cannot download from local S3 ({exc})") from exc
    return target


# Bumped (and waiters woken) each time a run ends, so a .sync task notices at once instead of on its next poll.
_ended = threading.Condition()
_ended_count = 0


def runs_ended() -> int:
    """How many runs have ended so far (read it before checking a run, then wait_for_run_end(it))."""
    return _ended_count


def wait_for_run_end(seen: int, timeout: float) -> None:
    """Return when a run has ended since runs_ended() was `seen`, or after timeout seconds."""
    with _ended:
        _ended.wait_for(lambda: _ended_count != seen, timeout)


def _finish(run: FakeJobRun, state: str, error: str | None, started: float) -> None:
    global _ended_count
    run.error_message = error  # type: ignore[attr-defined]
    run.completed_on = utcnow()
    run.modified_on = run.completed_on
    run.execution_seconds = int(time.monotonic() - started)  # type: ignore[attr-defined]
    run.status = state
    with _ended:
        _ended_count += 1
        _ended.notify_all()


def _save_logs(backend: GlueBackend, run_id: str, stdout: bytes, stderr: bytes) -> None:
    from moto.logs.models import logs_backends

    try:
        logs = logs_backends[backend.account_id][backend.region_name]
        for group, data in ((LOG_GROUP_OUTPUT, stdout), (LOG_GROUP_ERROR, stderr)):
            logs.ensure_log_group(group)
            logs.create_log_stream(group, run_id)
            lines = data.decode("utf-8", errors="replace").splitlines() or ["(no output)"]
            now = int(time.time() * 1000)
            logs.put_log_events(group, run_id, [{"timestamp": now, "message": line} for line in lines])
    except Exception as exc:  # noqa: BLE001 - logging must never fail a run
        LOG.warning("could not write CloudWatch logs for Glue run %s: %s", run_id, exc)


def _python_files(s3: Any, uris: list[str], download_dir: Path, code_root: Path) -> list[str]:
    """sys.path entries for the --extra-py-files: a folder per version of the code (content hash), so
    that the Spark worker's Python workers (UDFs) see the same path, and are reused, while the code
    stays the same; a new version gets a folder, and workers, of its own."""
    if not uris:
        return []
    files = [_download(s3, uri, download_dir, "--extra-py-files") for uri in uris]
    digest = hashlib.sha256()
    for path in sorted(set(files)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    folder = code_root / digest.hexdigest()[:20]
    with _code_lock:
        if not folder.is_dir():
            staging = code_root / f".{folder.name}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(download_dir, staging)
            staging.rename(folder)
    shutil.rmtree(download_dir, ignore_errors=True)
    entries = [str(folder / f.name) if f.suffix in (".zip", ".egg", ".whl") else str(folder) for f in files]
    return list(dict.fromkeys(entries))


def execute_run(backend: GlueBackend, job: FakeJob, run: FakeJobRun) -> None:
    """Run the job's script to completion and record the outcome on the run (background thread)."""
    ctx = get_context()
    started = time.monotonic()
    run_dir = ctx.work_dir / "glue-runs" / job.name / run.job_run_id
    arguments = dict(run.arguments or {})
    try:
        s3 = boto3.client("s3", endpoint_url=ctx.endpoint, region_name=backend.region_name,
                          aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        command = job.command or {}
        script = _download(s3, command.get("ScriptLocation", ""), run_dir / "script", "Command.ScriptLocation")
        py_paths = _python_files(s3, extra_py_files(arguments), run_dir / "py-files", ctx.work_dir / "glue-code")
        argv = script_arguments(job.name, run.job_run_id, arguments)
        minutes = run.timeout or job.timeout or DEFAULT_TIMEOUT_MINUTES
        LOG.info("Glue run %s of %s: starting %s", run.job_run_id, job.name, script.name)
        if command.get("Name", "glueetl") in SPARK_COMMANDS:
            state, error = _run_on_spark_worker(s3, backend, run, script, argv, py_paths, run_dir, minutes)
        else:
            state, error = _run_python_shell(backend, run, script, argv, py_paths, run_dir, minutes)
        _finish(run, state, error, started)
    except Exception as exc:  # noqa: BLE001 - anything that stops the run fails it, with the reason
        LOG.exception("Glue run %s of %s could not run", run.job_run_id, job.name)
        _finish(run, "FAILED", str(exc), started)
    LOG.info("Glue run %s of %s: %s %s", run.job_run_id, job.name, run.status, run.error_message or "")


def _timed_out(minutes: float) -> str:
    return f"Job run timed out after {minutes} minutes"


def _run_on_spark_worker(s3: Any, backend: GlueBackend, run: FakeJobRun, script: Path, argv: list[str],
                         py_paths: list[str], run_dir: Path, minutes: float) -> tuple[str, str | None]:
    ctx = get_context()
    for name in ("stdout.log", "stderr.log"):
        (run_dir / name).write_bytes(b"")
    request = {
        "run_id": run.job_run_id,
        "script": str(script),
        "argv": argv,
        "py_paths": py_paths,
        "run_dir": str(run_dir),
        "env": child_env(endpoint=ctx.endpoint, region=backend.region_name),
        "buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]],
    }
    result = get_worker(ctx.work_dir / "spark-worker").run(
        request, endpoint=ctx.endpoint, region=backend.region_name, timeout=float(minutes) * 60)
    stdout, stderr = ((run_dir / name).read_bytes() for name in ("stdout.log", "stderr.log"))
    _save_logs(backend, run.job_run_id, stdout, stderr)
    if result.timed_out:
        return "TIMEOUT", _timed_out(minutes)
    if result.ok:
        return "SUCCEEDED", None
    return "FAILED", result.error or error_message(None, stderr, None)


def _run_python_shell(backend: GlueBackend, run: FakeJobRun, script: Path, argv: list[str], py_paths: list[str],
                      run_dir: Path, minutes: float) -> tuple[str, str | None]:
    ctx = get_context()
    env = child_env(endpoint=ctx.endpoint, region=backend.region_name,
                    extra={"PYTHONPATH": ":".join(py_paths), "LOCAL_AWS_RESULT_PATH": str(run_dir / "result.json")})
    proc = run_tracked([sys.executable, str(LAUNCHER), str(script), *argv], env=env, cwd=run_dir,
                       timeout=float(minutes) * 60,
                       stdout_path=run_dir / "stdout.log", stderr_path=run_dir / "stderr.log")
    _save_logs(backend, run.job_run_id, proc.stdout, proc.stderr)
    outcome = read_outcome(run_dir / "result.json")
    if proc.timed_out:
        return "TIMEOUT", _timed_out(minutes)
    if proc.returncode == 0 and outcome and outcome.get("ok"):
        return "SUCCEEDED", None
    return "FAILED", error_message(outcome, proc.stderr, proc.returncode)


def _start_job_run(original: Any, self: GlueBackend, name: str, *args: Any, **kwargs: Any) -> str:
    run_id = original(self, name, *args, **kwargs)
    job = self.get_job(name)
    run = next(r for r in job.job_runs if r.job_run_id == run_id)
    run._transitions = []  # freeze moto's STARTING->RUNNING->SUCCEEDED; our thread sets the state
    run.status = "RUNNING"
    run.error_message = None
    run.runs_locally = True
    run.glue_version = job.glue_version
    threading.Thread(target=execute_run, args=(self, job, run), name=f"glue-run-{run_id[:12]}", daemon=True).start()
    return run_id


def _as_dict(original: Any, self: FakeJobRun) -> dict[str, Any]:
    data = original(self)
    if getattr(self, "runs_locally", False):
        data["LogGroupName"] = "/aws-glue/jobs"
        if getattr(self, "glue_version", None):
            data["GlueVersion"] = self.glue_version
        if self.status in ("RUNNING", "STARTING"):
            data.pop("CompletedOn", None)
            data["ExecutionTime"] = int((utcnow() - self.started_on).total_seconds())
        else:
            data["ExecutionTime"] = getattr(self, "execution_seconds", 0)
        if getattr(self, "error_message", None):
            data["ErrorMessage"] = self.error_message
    return data


def apply() -> None:
    wrap_method(GlueBackend, "start_job_run")(_start_job_run)
    wrap_method(FakeJobRun, "as_dict")(_as_dict)
