"""Glue-or-local plumbing shared by the three job entry scripts: arguments, SparkSession,
run-partition writes, the metrics file and JSON log lines.

On AWS Glue the awsglue library is present and used; elsewhere (tests, the local emulator) an
equivalent argument parser and a plain SparkSession take its place, so one script runs in both.
"""
import argparse
import json
import sys
from datetime import datetime, timezone


def resolve_args(argv, required, optional=None):
    """Parse Glue-style ``--name value`` arguments.

    ``required`` names must be present; ``optional`` maps a name to its default. Unknown arguments
    (Glue adds many, e.g. --job-bookmark-option) are ignored. Uses awsglue.utils.getResolvedOptions
    when available, so behaviour on Glue is exactly Glue's.
    """
    optional = dict(optional or {})
    present = [name for name in optional if _has_flag(argv, name)]
    wanted = list(required) + present
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        getResolvedOptions = _get_resolved_options
    resolved = getResolvedOptions(argv, wanted)
    values = {name: resolved[name] for name in wanted}
    for name, default in optional.items():
        values.setdefault(name, default)
    for name in required:
        if values[name] is None or str(values[name]).strip() == "":
            raise ValueError(f"job argument --{name} is empty")
    return values


def _has_flag(argv, name):
    flag = f"--{name}"
    return any(arg == flag or arg.startswith(flag + "=") for arg in argv[1:])


def _get_resolved_options(argv, options):
    """Stand-in for awsglue.utils.getResolvedOptions: every option is required."""
    parser = argparse.ArgumentParser(prog=argv[0] if argv else "glue-job", add_help=False)
    for name in options:
        parser.add_argument(f"--{name}", dest=name, required=True)
    parsed, _unknown = parser.parse_known_args(argv[1:])
    return vars(parsed)


class JobSession:
    """A SparkSession plus, on Glue, the Job whose commit() marks the run complete."""

    def __init__(self, spark, glue_job=None):
        self.spark = spark
        self._glue_job = glue_job

    def commit(self):
        if self._glue_job is not None:
            self._glue_job.commit()


def start_session(app_name, args):
    """GlueContext + Job on Glue; otherwise the active (or a new) local SparkSession."""
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job
        from pyspark.context import SparkContext
    except ImportError:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName(app_name).getOrCreate()
        glue_job = None
    else:
        glue_context = GlueContext(SparkContext.getOrCreate())
        spark = glue_context.spark_session
        glue_job = Job(glue_context)
        glue_job.init(args.get("JOB_NAME") or app_name, args)
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return JobSession(spark, glue_job)


def run_partition_path(root, run_id):
    """Hive-style run partition under a dataset root: ``<root>/run_id=<run_id>``."""
    if not root or not run_id:
        raise ValueError("run_partition_path needs a dataset root and a run_id")
    return f"{root.rstrip('/')}/run_id={run_id}"


def write_run_partition(df, root, run_id, partition_by=()):
    """Overwrite exactly one run's partition with ``df`` as Parquet and return its row count.

    Writing to ``<root>/run_id=<id>`` (rather than partitionBy('run_id') on the root) makes a re-run
    replace only its own output, also when it is now empty, and never touches other runs. The
    run_id column is dropped from the files because the directory name carries it, as with
    partitionBy; readers of ``<root>`` get it back through partition discovery.
    """
    data = df.drop("run_id") if "run_id" in df.columns else df
    data = data.persist()
    try:
        rows = data.count()
        writer = data.write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(run_partition_path(root, run_id))
    finally:
        data.unpersist()
    return rows


def read_run_partition(spark, root, run_id):
    """Read one run's partition written by write_run_partition (without the run_id column)."""
    return spark.read.parquet(run_partition_path(root, run_id))


def write_json(spark, path, payload):
    """Write one small JSON document through Spark's Hadoop FileSystem.

    Going through the same FileSystem as the data means the file lands wherever the data does:
    S3 on Glue, the local disk in tests or the emulator, with no separate S3 client.
    """
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def publish_metrics(spark, args, metrics):
    """Write the stage's metrics file (for LogResults) and log it as the stage_complete line."""
    write_json(spark, args["metrics_path"], metrics)
    log("stage_complete", **metrics)


def build_metrics(stage, args, rows_read, rows_written, **extra):
    """The per-stage metrics document LogResults reads (see docs/fpac-pipeline.md, 'Metrics convention')."""
    document = {
        "stage": stage,
        "run_id": args["run_id"],
        "rows_read": int(rows_read),
        "rows_written": int(rows_written),
        "job_name": args.get("JOB_NAME"),
        "job_run_id": args.get("JOB_RUN_ID"),
        "written_at": utc_now().isoformat(),
    }
    document.update(extra)
    return document


def utc_now():
    return datetime.now(timezone.utc)


def log(event, **fields):
    """One JSON line on stdout (the Glue driver log in CloudWatch)."""
    print(json.dumps({"event": event, **fields}, default=str, sort_keys=True), file=sys.stdout, flush=True)
