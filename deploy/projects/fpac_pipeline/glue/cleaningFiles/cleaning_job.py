"""Glue job 'cleaning': one run's landing Parquet -> clean Parquet + quarantined rows.

Run arguments (per run, from the state machine):
  --run_id           run id issued by CreateNewId
  --landing_path     landing dataset root (reads <landing_path>/run_id=<run_id>)
  --clean_path       clean dataset root
  --quarantine_path  quarantine dataset root
  --metrics_path     this stage's metrics file (.../metrics/run_id=<id>/cleaning.json)
Default argument (constant per environment, in the job's DefaultArguments):
  --max_reject_ratio fail the run when rejected / (clean + rejected) exceeds it; default 1.0 (never).
Outputs and metrics are written before that check, so a failed run can still be inspected.
"""
import sys

import cleaning_transforms
import glue_runtime

STAGE = "cleaning"
REQUIRED_ARGS = ("run_id", "landing_path", "clean_path", "quarantine_path", "metrics_path")
OPTIONAL_ARGS = {"max_reject_ratio": "1.0", "JOB_NAME": None, "JOB_RUN_ID": None}


class RejectRatioExceeded(RuntimeError):
    """Too many rows were quarantined for the run to count as a success."""


def parse_ratio(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"job argument --max_reject_ratio must be a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"job argument --max_reject_ratio must be in [0, 1], got {value}")
    return value


def reject_ratio(clean_rows, rejected_rows):
    checked = clean_rows + rejected_rows
    return rejected_rows / checked if checked else 0.0


def main(argv):
    args = glue_runtime.resolve_args(argv, REQUIRED_ARGS, OPTIONAL_ARGS)
    max_ratio = parse_ratio(args["max_reject_ratio"])
    session = glue_runtime.start_session(f"fpac-{STAGE}", args)
    landing = glue_runtime.read_run_partition(session.spark, args["landing_path"], args["run_id"]).persist()
    try:
        rows_read = landing.count()
        result = cleaning_transforms.clean_payments(landing)
        clean_rows = glue_runtime.write_run_partition(result.clean, args["clean_path"], args["run_id"])
        rejected_rows = glue_runtime.write_run_partition(result.rejected, args["quarantine_path"], args["run_id"])
        reasons = cleaning_transforms.reject_reason_counts(
            glue_runtime.read_run_partition(session.spark, args["quarantine_path"], args["run_id"])
        )
        dropped_columns = cleaning_transforms.extra_columns(landing)
    finally:
        landing.unpersist()
    ratio = reject_ratio(clean_rows, rejected_rows)
    metrics = glue_runtime.build_metrics(
        STAGE,
        args,
        rows_read=rows_read,
        rows_written=clean_rows,
        rows_rejected=rejected_rows,
        rows_duplicate=rows_read - clean_rows - rejected_rows,
        reject_ratio=round(ratio, 6),
        max_reject_ratio=max_ratio,
        reject_reasons=reasons,
        extra_columns_dropped=dropped_columns,
        output_path=glue_runtime.run_partition_path(args["clean_path"], args["run_id"]),
        quarantine_path=glue_runtime.run_partition_path(args["quarantine_path"], args["run_id"]),
    )
    glue_runtime.publish_metrics(session.spark, args, metrics)
    if ratio > max_ratio:
        raise RejectRatioExceeded(
            f"cleaning: {rejected_rows} of {clean_rows + rejected_rows} rows rejected "
            f"({ratio:.1%}) exceeds --max_reject_ratio {max_ratio:.1%}; see {metrics['quarantine_path']}"
        )
    session.commit()
    return metrics


if __name__ == "__main__":
    main(sys.argv)
