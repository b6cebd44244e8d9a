"""Glue StartJobRun executes the deployed script with local PySpark.

moto 5.2.1 records a job run and reports it SUCCEEDED without running anything. We keep moto's run
record (so GetJobRun/GetJobRuns/MaxConcurrentRuns work) but freeze its state machine and drive it
ourselves from a background thread: RUNNING -> SUCCEEDED | FAILED | TIMEOUT. The thread downloads
Command.ScriptLocation and every --extra-py-files object from the local S3, runs
runtime/glue_launcher.py SCRIPT --JOB_NAME name --JOB_RUN_ID id --k v ... (DefaultArguments merged
with the run's Arguments, as moto merges them) in a child process with PySpark, and records
ErrorMessage from the script's exception (or the tail of stderr). Spark reads and writes s3:// paths through a per-run
local mirror of the buckets (a Hadoop mount table in the run's spark-defaults.conf, see
runtime/s3_mirror.py), synced back to S3 when the script ends. Output goes to CloudWatch Logs
/aws-glue/jobs/output and /aws-glue/jobs/error (stream = run id) and to
<state dir>/work/glue-runs/<job>/<run id>/.
Not emulated: --additional-python-modules, connections, bookmarks, worker sizing, GlueContext/awsglue.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from moto.core.utils import utcnow
from moto.glue.models import FakeJob, FakeJobRun, GlueBackend

from deploy.common.local_aws.extensions.child_env import SPARK_PASSTHROUGH, child_env
from deploy.common.local_aws.extensions.context import DUMMY_CREDENTIALS, get_context
from deploy.common.local_aws.extensions.patching import wrap_method
from deploy.common.local_aws.extensions.processes import read_outcome, run_tracked
from deploy.common.local_aws.runtime.s3_mirror import hadoop_s3_mapping, parse_s3_uri

LOG = logging.getLogger("local_aws.glue")
LAUNCHER = Path(__file__).resolve().parent.parent / "runtime" / "glue_launcher.py"
DEFAULT_TIMEOUT_MINUTES = 2880
ERROR_TAIL_CHARS = 2000
LOG_GROUP_OUTPUT = "/aws-glue/jobs/output"
LOG_GROUP_ERROR = "/aws-glue/jobs/error"

# Local Spark: loopback only, no UI, few shuffle partitions (tiny data), quiet logs.
SPARK_DEFAULTS = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.showConsoleProgress": "false",
}
LOG4J2 = """rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
"""


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


def spark_defaults(run_dir: Path, mirror_root: Path, buckets: list[str]) -> dict[str, str]:
    """spark-defaults.conf for a run: local settings plus s3:// served from the run's mirror."""
    mapping = {f"spark.hadoop.{k}": v for k, v in hadoop_s3_mapping(buckets, mirror_root).items()}
    return {**SPARK_DEFAULTS, "spark.sql.warehouse.dir": str(run_dir / "spark-warehouse"), **mapping}


def _write_spark_conf(conf_dir: Path, defaults: dict[str, str]) -> None:
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "spark-defaults.conf").write_text("".join(f"{k} {v}\n" for k, v in defaults.items()))
    (conf_dir / "log4j2.properties").write_text(LOG4J2)


def _finish(run: FakeJobRun, state: str, error: str | None, started: float) -> None:
    run.error_message = error  # type: ignore[attr-defined]
    run.completed_on = utcnow()
    run.modified_on = run.completed_on
    run.execution_seconds = int(time.monotonic() - started)  # type: ignore[attr-defined]
    run.status = state


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
        script = _download(s3, (job.command or {}).get("ScriptLocation", ""), run_dir / "script",
                           "Command.ScriptLocation")
        py_paths = []
        for uri in extra_py_files(arguments):
            local = _download(s3, uri, run_dir / "py-files", "--extra-py-files")
            py_paths.append(str(local) if local.suffix in (".zip", ".egg", ".whl") else str(local.parent))
        buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        _write_spark_conf(run_dir / "spark-conf", spark_defaults(run_dir, run_dir / "s3", buckets))
        env = child_env(
            endpoint=ctx.endpoint,
            region=backend.region_name,
            passthrough=SPARK_PASSTHROUGH,
            extra={
                "PYTHONPATH": ":".join(dict.fromkeys(py_paths)),
                "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_DRIVER_PYTHON": sys.executable,
                "SPARK_CONF_DIR": str(run_dir / "spark-conf"),
                "SPARK_LOCAL_IP": "127.0.0.1",
                "LOCAL_AWS_S3_MIRROR": str(run_dir / "s3"),
                "LOCAL_AWS_RESULT_PATH": str(run_dir / "result.json"),
            },
        )
        minutes = run.timeout or job.timeout or DEFAULT_TIMEOUT_MINUTES
        LOG.info("Glue run %s of %s: starting %s", run.job_run_id, job.name, script.name)
        proc = run_tracked([sys.executable, str(LAUNCHER), str(script), *script_arguments(job.name, run.job_run_id, arguments)],
                           env=env, cwd=run_dir, timeout=float(minutes) * 60,
                           stdout_path=run_dir / "stdout.log", stderr_path=run_dir / "stderr.log")
        _save_logs(backend, run.job_run_id, proc.stdout, proc.stderr)
        outcome = read_outcome(run_dir / "result.json")
        if proc.timed_out:
            _finish(run, "TIMEOUT", f"Job run timed out after {minutes} minutes", started)
        elif proc.returncode == 0 and outcome and outcome.get("ok"):
            _finish(run, "SUCCEEDED", None, started)
        else:
            _finish(run, "FAILED", error_message(outcome, proc.stderr, proc.returncode), started)
    except Exception as exc:  # noqa: BLE001 - anything that stops the run fails it, with the reason
        LOG.exception("Glue run %s of %s could not run", run.job_run_id, job.name)
        _finish(run, "FAILED", str(exc), started)
    LOG.info("Glue run %s of %s: %s %s", run.job_run_id, job.name, run.status, run.error_message or "")


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
