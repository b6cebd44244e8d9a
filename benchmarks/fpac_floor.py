#!/usr/bin/env python3
"""The floor for the local pipeline run: one SparkSession runs the three fpac Glue jobs on local files.

    python benchmarks/fpac_floor.py --work DIR INPUT.csv [INPUT.csv ...]

Each input is one pass: landing -> cleaning -> final, through the jobs' own main() (so the same
transforms, writes, counts and metrics file as the deployed scripts), with local paths instead of
s3:// ones and the same Spark settings as the local AWS's Spark worker (runtime/spark_settings.py).
There is no S3, no Lambda, no Step Functions: what is left is the Spark work itself, plus one JVM
start before the first pass. Prints one JSON line per pass: {"input", "seconds", "ended" (the
system-wide monotonic clock, so the caller can time from its own clock), "rows"}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GLUE = REPO / "deploy" / "projects" / "fpac_pipeline" / "glue"
sys.path[:0] = [str(GLUE / f) for f in ("shared", "landingFiles", "cleaningFiles", "finalFiles")]
sys.path.insert(0, str(REPO))

from deploy.local_aws.runtime.spark_settings import spark_conf  # noqa: E402


def one_pass(source: Path, lake: Path, run_id: str) -> dict[str, int]:
    import cleaning_job
    import final_job
    import landing_job

    root = lake.as_posix()
    metrics = {stage: f"{root}/metrics/run_id={run_id}/{stage}.json" for stage in ("landing", "cleaning", "final")}
    landing = landing_job.main(["landing_job.py", "--run_id", run_id, "--source_path", str(source),
                                "--landing_path", f"{root}/landing", "--metrics_path", metrics["landing"]])
    cleaning = cleaning_job.main(["cleaning_job.py", "--run_id", run_id, "--landing_path", f"{root}/landing",
                                  "--clean_path", f"{root}/clean", "--quarantine_path", f"{root}/quarantine",
                                  "--metrics_path", metrics["cleaning"], "--max_reject_ratio", "0.5"])
    final = final_job.main(["final_job.py", "--run_id", run_id, "--clean_path", f"{root}/clean",
                            "--final_path", f"{root}/final", "--metrics_path", metrics["final"]])
    return {"in": landing["rows_written"], "clean": cleaning["rows_written"],
            "rejected": cleaning["rows_rejected"], "final": final["rows_written"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (Spark warehouse, outputs)")
    parser.add_argument("inputs", type=Path, nargs="+")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("fpac-floor")
    for key, value in spark_conf(args.work).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    for number, source in enumerate(args.inputs, 1):
        started = time.monotonic()
        rows = one_pass(source.resolve(), args.work / f"lake-{number}", f"floor-{number}")
        ended = time.monotonic()
        print(json.dumps({"input": str(source), "seconds": ended - started, "ended": ended, "rows": rows}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
