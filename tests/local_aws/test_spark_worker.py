"""Glue Spark runs share the server's one warm Spark worker, each as if on a fresh Glue driver; a run
that overruns its timeout is cancelled without wedging the worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy.local_aws.extensions.spark_worker import SparkWorker

from .support import create_bucket, create_role, wait_for_job_run

# A Glue-style script: SparkContext() (Glue's boilerplate), a UDF that calls a --extra-py-files
# module (run by Spark's Python workers), settings and a temporary view left behind, and stop().
PROBE = '''
import json, os, sys
from pyspark import SparkContext
from pyspark.sql import SparkSession, functions as F
import helpers

sc = SparkContext()
spark = SparkSession.builder.appName("probe").getOrCreate()
tag = F.udf(lambda value: helpers.tag(value))
print(json.dumps({
    "pid": os.getpid(), "context_started": sc.startTime, "argv": sys.argv[1:5],
    "helper": helpers.VERSION, "udf": spark.range(1).select(tag(F.lit("x")).alias("t")).first().t,
    "views": [t.name for t in spark.catalog.listTables()],
    "partitions": spark.conf.get("spark.sql.shuffle.partitions"),
}))
spark.range(3).createOrReplaceTempView("left_behind")
spark.conf.set("spark.sql.shuffle.partitions", "1")
spark.stop()
'''


@pytest.fixture
def aws(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> dict[str, Any]:
    clients = {name: local_aws_client(name) for name in ("glue", "s3", "iam", "logs")}
    create_bucket(clients["s3"], "artifacts")
    clients["role"] = create_role(clients["iam"])
    return clients


def _spark_job(aws: dict[str, Any], name: str, script: str, **extra: Any) -> None:
    aws["s3"].put_object(Bucket="artifacts", Key=f"scripts/{name}.py", Body=script.encode())
    aws["glue"].create_job(Name=name, Role=aws["role"], GlueVersion="5.0",
                           Command={"Name": "glueetl", "ScriptLocation": f"s3://artifacts/scripts/{name}.py"}, **extra)


def _run(aws: dict[str, Any], name: str) -> tuple[dict[str, Any], list[str]]:
    run_id = aws["glue"].start_job_run(JobName=name)["JobRunId"]
    run = wait_for_job_run(aws["glue"], name, run_id, timeout=240)
    events = aws["logs"].get_log_events(logGroupName="/aws-glue/jobs/output", logStreamName=run_id)["events"]
    return run, [e["message"] for e in events]


def test_spark_runs_share_one_worker_each_with_fresh_modules_and_session(aws: dict[str, Any]) -> None:
    helpers = "VERSION = {v}\ndef tag(value):\n    return 'v{v}-' + value\n"
    aws["s3"].put_object(Bucket="artifacts", Key="lib/helpers.py", Body=helpers.format(v=1).encode())
    _spark_job(aws, "probe", PROBE, DefaultArguments={"--extra-py-files": "s3://artifacts/lib/helpers.py"})
    _spark_job(aws, "broken", "raise ValueError('bad row 7')\n")
    _spark_job(aws, "exits", "import sys\nsys.exit(3)\n")

    first, lines = _run(aws, "probe")
    assert first["JobRunState"] == "SUCCEEDED", first.get("ErrorMessage")
    one = json.loads(lines[0])
    for name, message in (("broken", "ValueError: bad row 7"), ("exits", "SystemExit: 3")):
        failed, _ = _run(aws, name)
        assert (failed["JobRunState"], failed["ErrorMessage"]) == ("FAILED", message)
    aws["s3"].put_object(Bucket="artifacts", Key="lib/helpers.py", Body=helpers.format(v=2).encode())
    second, lines = _run(aws, "probe")
    assert second["JobRunState"] == "SUCCEEDED", second.get("ErrorMessage")
    two = json.loads(lines[0])

    assert one["argv"] == ["--JOB_NAME", "probe", "--JOB_RUN_ID", first["Id"]]
    assert (one["helper"], one["udf"]) == (1, "v1-x")
    # The same process and SparkContext (stop() was ignored), the new helper in the driver and the
    # UDF's Python workers, and a session of its own: no view or setting of the run before.
    assert (two["pid"], two["context_started"]) == (one["pid"], one["context_started"])
    assert (two["helper"], two["udf"]) == (2, "v2-x")
    assert two["views"] == [] and two["partitions"] == one["partitions"] == "4"


def _request(tmp_path: Path, name: str, script: str) -> dict[str, Any]:
    run_dir = tmp_path / name
    run_dir.mkdir()
    (run_dir / "job.py").write_text(script)
    return {"run_id": name, "script": str(run_dir / "job.py"), "argv": ["--JOB_NAME", name], "py_paths": [],
            "run_dir": str(run_dir), "env": {}, "buckets": []}


def test_overrun_is_cancelled_and_a_stuck_run_recycles_the_worker(tmp_path: Path) -> None:
    worker = SparkWorker(tmp_path / "worker")
    worker.cancel_grace = 2.0
    endpoint = {"endpoint": "http://127.0.0.1:9", "region": "us-east-2"}  # no S3 use: no bucket is mounted
    long_spark_job = ("from pyspark.sql import SparkSession\n"
                      "SparkSession.builder.getOrCreate().range(10 ** 13).selectExpr('sum(id)').collect()\n")
    try:
        overran = worker.run(_request(tmp_path, "spark", long_spark_job), timeout=3, **endpoint)
        assert overran.timed_out and not overran.ok
        pid = worker.pid
        assert pid is not None and worker.starts == 1  # cancelled in place: the worker goes on

        stuck = worker.run(_request(tmp_path, "stuck", "import time\ntime.sleep(3600)\n"), timeout=2, **endpoint)
        assert stuck.timed_out and worker.pid is None  # it did not stop: the worker was killed

        fine = worker.run(_request(tmp_path, "fine", "print('after')\n"), timeout=120, **endpoint)
        assert fine.ok and worker.starts == 2 and worker.pid not in (None, pid)
        assert (tmp_path / "fine" / "stdout.log").read_text() == "after\n"
        assert "overran its timeout" in (tmp_path / "spark" / "stderr.log").read_text()
    finally:
        worker._kill()
