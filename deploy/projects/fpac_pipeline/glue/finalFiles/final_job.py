"""Glue job 'final': one run's clean Parquet -> curated aggregates for the Data Catalog.

Run arguments (per run, from the state machine):
  --run_id        run id issued by CreateNewId
  --clean_path    clean dataset root (reads <clean_path>/run_id=<run_id>)
  --final_path    final dataset root (the crawler's target)
  --metrics_path  this stage's metrics file (.../metrics/run_id=<id>/final.json)
Writes <final_path>/run_id=<run_id>/fiscal_year=<yyyy>/part-*.parquet.
"""
import sys

import final_transforms
import glue_runtime

STAGE = "final"
REQUIRED_ARGS = ("run_id", "clean_path", "final_path", "metrics_path")
OPTIONAL_ARGS = {"JOB_NAME": None, "JOB_RUN_ID": None}


def main(argv):
    args = glue_runtime.resolve_args(argv, REQUIRED_ARGS, OPTIONAL_ARGS)
    session = glue_runtime.start_session(f"fpac-{STAGE}", args)
    clean = glue_runtime.read_run_partition(session.spark, args["clean_path"], args["run_id"]).persist()
    try:
        rows_read = clean.count()
        aggregates = final_transforms.aggregate_payments(clean)
        rows_written = glue_runtime.write_run_partition(
            aggregates, args["final_path"], args["run_id"], partition_by=final_transforms.PARTITION_COLUMNS
        )
    finally:
        clean.unpersist()
    metrics = glue_runtime.build_metrics(
        STAGE,
        args,
        rows_read=rows_read,
        rows_written=rows_written,
        output_path=glue_runtime.run_partition_path(args["final_path"], args["run_id"]),
    )
    glue_runtime.publish_metrics(session.spark, args, metrics)
    session.commit()
    return metrics


if __name__ == "__main__":
    main(sys.argv)
