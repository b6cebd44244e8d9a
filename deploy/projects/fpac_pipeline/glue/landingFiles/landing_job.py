"""Glue job 'landing': incoming CSV -> landing Parquet (all strings + lineage), one run partition.

Run arguments (per run, from the state machine):
  --run_id        run id issued by CreateNewId
  --source_path   the incoming CSV, e.g. s3://bucket/incoming/payments.csv
  --landing_path  landing dataset root, e.g. s3://data-bucket/landing
  --metrics_path  this stage's metrics file, e.g. s3://data-bucket/metrics/run_id=<id>/landing.json
Writes <landing_path>/run_id=<run_id>/part-*.parquet.
"""
import sys

import glue_runtime
import landing_transforms

STAGE = "landing"
REQUIRED_ARGS = ("run_id", "source_path", "landing_path", "metrics_path")
OPTIONAL_ARGS = {"JOB_NAME": None, "JOB_RUN_ID": None}


def read_raw_csv(spark, path):
    """Every column as a string, values untouched (no trimming, no inference)."""
    return (
        spark.read.option("header", True)
        .option("inferSchema", False)
        .option("mode", "PERMISSIVE")
        .option("encoding", "UTF-8")
        .option("ignoreLeadingWhiteSpace", False)
        .option("ignoreTrailingWhiteSpace", False)
        .csv(path)
    )


def main(argv):
    args = glue_runtime.resolve_args(argv, REQUIRED_ARGS, OPTIONAL_ARGS)
    session = glue_runtime.start_session(f"fpac-{STAGE}", args)
    raw = read_raw_csv(session.spark, args["source_path"])
    landed = landing_transforms.to_landing(raw, args["run_id"], args["source_path"], glue_runtime.utc_now())
    rows = glue_runtime.write_run_partition(landed, args["landing_path"], args["run_id"])
    metrics = glue_runtime.build_metrics(
        STAGE,
        args,
        rows_read=rows,
        rows_written=rows,
        source_path=args["source_path"],
        output_path=glue_runtime.run_partition_path(args["landing_path"], args["run_id"]),
        columns=[c for c in landed.columns if c != "run_id"],
    )
    glue_runtime.publish_metrics(session.spark, args, metrics)
    session.commit()
    return metrics


if __name__ == "__main__":
    main(sys.argv)
