"""The three Glue entry scripts run for real on the good sample file (local paths), chained through
CreateNewId's layout, and LogResults then reads their metrics from S3 (the local AWS endpoint).

s3://<bucket>/<key> is mapped to <tmp>/<bucket>/<key>, as the local emulator maps Glue paths.
"""
from __future__ import annotations

import json
import runpy
import shutil
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import cleaning_job
import final_job
import landing_job
from fpac_test_support import GLUE, GOOD_CSV, FakeContext, load_handler

create = load_handler("CreateNewId")
log_results = load_handler("LogResults")
DATA_BUCKET = "fpac-e2e-data"

# What the sample file is built to produce (see sample_data and the pipeline README).
EXPECTED_CLEAN = {
    "P0001", "P0002", "P0003", "P0004", "P0005", "P0012", "P0016", "P0017", "P0018",
    "P0022", "P0025", "P0027", "P0028", "P0030", "P0031", "P0032", "P0033", "P0034",
}
EXPECTED_REJECTS = {
    ("P0006", "invalid_payment_date"), ("P0007", "negative_payment_amount"), ("P0008", "invalid_payment_amount"),
    ("P0009", "missing_state_code"), ("P0010", "missing_payment_amount"), ("P0011", "missing_recipient_id"),
    ("P0014", "invalid_fiscal_year"), ("P0015", "invalid_state_code"), ("P0019", "invalid_payment_amount"),
    ("P0020", "invalid_county_code"), ("P0021", "duplicate_record_id"), ("P0023", "invalid_payment_date"),
    (None, "missing_record_id"),
}
EXPECTED_AGGREGATES = {  # (state, program, fiscal year): (payments, total)
    ("IA", "ARC-CO", 2024): (2, Decimal("2230.50")),
    ("IA", "PLC", 2024): (1, Decimal("75.00")),
    ("NE", "PLC", 2024): (2, Decimal("1544.56")),
    ("KS", "CRP", 2023): (1, Decimal("5000.00")),
    ("MN", "LFP", 2024): (1, Decimal("615.00")),
    ("MN", "ARC-CO", 2024): (1, Decimal("88.10")),
    ("IL", "PLC", 2023): (2, Decimal("4749.99")),
    ("TX", "ELAP", 2024): (2, Decimal("2500.00")),
    ("CA", "CRP", 2025): (2, Decimal("1200.00")),
    ("OH", "PLC", 2024): (1, Decimal("410.00")),
    ("OH", "ARC-CO", 2024): (1, Decimal("615.40")),
    ("ND", "CRP", 2023): (2, Decimal("3000.00")),
}


@pytest.fixture(scope="module")
def pipeline(spark, tmp_path_factory):
    lake = tmp_path_factory.mktemp("lake")

    def local(uri: str) -> str:
        return str(lake / uri.removeprefix("s3://"))

    now = datetime.now(timezone.utc)
    settings = create.settings_from_env({"DATA_BUCKET": DATA_BUCKET})
    run = create.plan_run(create.new_run_id(now), DATA_BUCKET, "incoming/fpac_payments_good.csv", settings, now)
    Path(local(run["paths"]["source"])).parent.mkdir(parents=True)
    shutil.copy(GOOD_CSV, local(run["paths"]["source"]))
    paths = {name: local(uri) for name, uri in run["paths"].items()}
    metrics = {stage: local(uri) for stage, uri in run["metrics"].items()}
    rid = run["run_id"]

    landing_argv = ["landing_job.py", "--JOB_NAME", "fpac-test-landing", "--run_id", rid, "--source_path", paths["source"],
                    "--landing_path", paths["landing"], "--metrics_path", metrics["landing"], "--job-bookmark-option", "job-bookmark-disable"]
    saved_argv = sys.argv
    sys.argv = landing_argv
    try:  # run the script file itself, as Glue does
        runpy.run_path(str(GLUE / "landingFiles" / "landing_job.py"), run_name="__main__")
    finally:
        sys.argv = saved_argv
    cleaning_argv = ["cleaning_job.py", "--run_id", rid, "--landing_path", paths["landing"], "--clean_path", paths["clean"],
                     "--quarantine_path", paths["quarantine"], "--metrics_path", metrics["cleaning"], "--max_reject_ratio", "0.5"]
    cleaning_job.main(cleaning_argv)
    final_job.main(["final_job.py", "--run_id", rid, "--clean_path", paths["clean"], "--final_path", paths["final"],
                    "--metrics_path", metrics["final"]])
    return {"run": run, "paths": paths, "metrics": metrics, "lake": lake, "landing_argv": landing_argv, "cleaning_argv": cleaning_argv}


def read_metrics(pipeline, stage):
    return json.loads(Path(pipeline["metrics"][stage]).read_text())


def test_landing_keeps_every_row_as_strings_with_lineage(spark, pipeline):
    landed = spark.read.parquet(pipeline["paths"]["landing"])  # the dataset root: run_id comes from the directory
    assert landed.count() == 35
    assert {t for c, t in landed.dtypes if c not in ("ingested_at",)} == {"string"}
    assert "batch_ref" in landed.columns and "county_code" in landed.columns
    assert {r["run_id"] for r in landed.select("run_id").distinct().collect()} == {pipeline["run"]["run_id"]}
    assert {r["source_file"] for r in landed.select("source_file").distinct().collect()} == {pipeline["paths"]["source"]}
    m = read_metrics(pipeline, "landing")
    assert (m["stage"], m["rows_read"], m["rows_written"], m["job_name"]) == ("landing", 35, 35, "fpac-test-landing")


def test_cleaning_splits_clean_and_quarantine(spark, pipeline):
    rid = pipeline["run"]["run_id"]
    clean = spark.read.parquet(f"{pipeline['paths']['clean']}/run_id={rid}")
    rejected = spark.read.parquet(f"{pipeline['paths']['quarantine']}/run_id={rid}")
    assert {r["record_id"] for r in clean.collect()} == EXPECTED_CLEAN
    assert clean.count() == len(EXPECTED_CLEAN)  # duplicates gone
    assert {(r["record_id"], r["reject_reason"]) for r in rejected.collect()} == EXPECTED_REJECTS
    assert rejected.count() == 14  # P0021 twice
    m = read_metrics(pipeline, "cleaning")
    assert (m["rows_read"], m["rows_written"], m["rows_rejected"], m["rows_duplicate"]) == (35, 18, 14, 3)
    assert m["extra_columns_dropped"] == ["batch_ref"]
    assert sum(m["reject_reasons"].values()) == 14
    assert m["reject_reasons"]["duplicate_record_id"] == 2


def test_final_aggregates_partitioned_by_run_and_fiscal_year(spark, pipeline):
    rid = pipeline["run"]["run_id"]
    run_dir = Path(pipeline["paths"]["final"]) / f"run_id={rid}"
    assert sorted(p.name for p in run_dir.iterdir() if p.is_dir()) == ["fiscal_year=2023", "fiscal_year=2024", "fiscal_year=2025"]
    final = spark.read.parquet(pipeline["paths"]["final"])
    got = {(r["state_code"], r["program_code"], r["fiscal_year"]): (r["payment_count"], r["total_amount"]) for r in final.collect()}
    assert got == EXPECTED_AGGREGATES
    assert {r["run_id"] for r in final.select("run_id").distinct().collect()} == {rid}
    m = read_metrics(pipeline, "final")
    assert (m["rows_read"], m["rows_written"]) == (18, 12)


def test_rerunning_a_stage_replaces_only_its_run_partition(spark, pipeline):
    other_run = Path(pipeline["paths"]["landing"]) / "run_id=some-other-run"
    other_run.mkdir()
    shutil.copytree(Path(pipeline["paths"]["landing"]) / f"run_id={pipeline['run']['run_id']}", other_run, dirs_exist_ok=True)
    landing_job.main(pipeline["landing_argv"])
    counts = {r["run_id"]: r["count"] for r in spark.read.parquet(pipeline["paths"]["landing"]).groupBy("run_id").count().collect()}
    assert counts == {pipeline["run"]["run_id"]: 35, "some-other-run": 35}


def test_too_many_rejects_fail_the_job_after_writing_metrics(pipeline):
    argv = [a if a != "0.5" else "0.4" for a in pipeline["cleaning_argv"]]
    with pytest.raises(cleaning_job.RejectRatioExceeded, match=r"14 of 32 rows rejected \(43.8%\)"):
        cleaning_job.main(argv)
    m = read_metrics(pipeline, "cleaning")
    assert (m["rows_rejected"], m["max_reject_ratio"]) == (14, 0.4)


@pytest.mark.parametrize("bad", ["1.5", "-0.1", "lots"])
def test_bad_reject_ratio_argument(bad):
    with pytest.raises(ValueError, match="--max_reject_ratio"):
        cleaning_job.parse_ratio(bad)


def test_log_results_reads_the_jobs_metrics_from_s3(pipeline, s3, lambda_env, monkeypatch):
    """The metrics contract end to end: files the jobs wrote, at the keys CreateNewId chose."""
    s3.create_bucket(Bucket=DATA_BUCKET, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
    run = pipeline["run"]
    for stage, uri in run["metrics"].items():
        bucket, key = log_results.parse_s3_uri(uri)
        s3.put_object(Bucket=bucket, Key=key, Body=Path(pipeline["metrics"][stage]).read_bytes())
    monkeypatch.setenv("DATA_BUCKET", DATA_BUCKET)
    out = log_results.handler({"status": "SUCCEEDED", "run": run}, FakeContext())
    bucket, key = log_results.parse_s3_uri(out["result_path"])
    record = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert record["row_counts"] == {"in": 35, "clean": 18, "rejected": 14, "duplicates": 3, "final": 12}
