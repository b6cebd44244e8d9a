"""The whole fpac pipeline, deployed and run for real on the local AWS: Lambda code in subprocesses,
the Glue scripts on local PySpark, the workflow in Step Functions, started by S3 -> EventBridge."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.cli import cli

SAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "projects" / "fpac_pipeline" / "sample_data"


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("e2e-check").config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "1").getOrCreate())
    yield session
    session.stop()


def _download(s3, bucket: str, prefix: str, into: Path) -> Path:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".parquet"):
                target = into / obj["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, obj["Key"], str(target))
    return into / prefix


def test_good_file_flows_to_final_outputs_and_bad_file_takes_the_failure_path(write_config, local_aws_client, spark, tmp_path):
    config = write_config()
    target = ["--config", str(config), "--region", "us-east-2", "--project-type", "fpac"]
    assert run("deploy", *target, "--yes")[0] == 0

    code, out, err = run("run", *target, "--input", str(SAMPLES / "fpac_payments_good.csv"), "--output", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "SUCCEEDED"
    record = result["record"]
    assert record["status"] == "SUCCEEDED" and record["failed_stage"] is None
    counts = record["row_counts"]
    assert counts["in"] == counts["clean"] + counts["rejected"] + counts["duplicates"]
    assert counts["clean"] > 0 and counts["rejected"] > 0 and counts["final"] > 0
    assert {"negative_payment_amount", "invalid_payment_date", "missing_record_id"} <= set(record["reject_reasons"])

    s3 = local_aws_client("s3")
    bucket = record["source"]["bucket"]
    run_prefix = f"run_id={record['run_id']}/"
    clean = spark.read.parquet(str(_download(s3, bucket, "clean/" + run_prefix, tmp_path)))
    final = spark.read.parquet(str(_download(s3, bucket, "final/" + run_prefix, tmp_path)))
    quarantine = spark.read.parquet(str(_download(s3, bucket, "quarantine/" + run_prefix, tmp_path)))
    assert clean.count() == counts["clean"] and quarantine.count() == counts["rejected"]
    assert final.count() == counts["final"]
    # The curated totals are the clean amounts summed by state, program and fiscal year.
    final_total = sum(float(r.total_amount) for r in final.select("total_amount").collect())
    clean_total = sum(float(r.payment_amount) for r in clean.select("payment_amount").collect())
    assert final_total == pytest.approx(clean_total, abs=0.005) and clean_total > 0
    assert sum(r.payment_count for r in final.select("payment_count").collect()) == counts["clean"]
    assert all(r.state_code == r.state_code.strip().upper() for r in clean.select("state_code").collect())

    code, out, err = run("run", *target, "--input", str(SAMPLES / "fpac_payments_bad_schema.csv"), "--output", "json")
    assert code == 1
    failed = json.loads(out)
    assert failed["status"] == "FAILED"
    assert failed["record"]["status"] == "FAILED" and failed["record"]["failed_stage"] == "validate"
    assert any("required columns" in r for r in failed["record"]["validation_reasons"])
