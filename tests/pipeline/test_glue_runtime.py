"""glue_runtime: Glue-style argument parsing (without awsglue), paths and the metrics writer."""
from __future__ import annotations

import json

import pytest

import glue_runtime


def test_resolve_args_reads_required_and_optional_and_ignores_glue_extras():
    argv = ["script.py", "--JOB_NAME", "fpac-dev-landing", "--run_id", "R1", "--job-bookmark-option", "job-bookmark-disable",
            "--source_path=s3://b/k.csv", "--max_reject_ratio", "0.25"]
    args = glue_runtime.resolve_args(argv, ("run_id", "source_path"), {"max_reject_ratio": "1.0", "JOB_NAME": None, "JOB_RUN_ID": None})
    assert args == {"run_id": "R1", "source_path": "s3://b/k.csv", "max_reject_ratio": "0.25", "JOB_NAME": "fpac-dev-landing", "JOB_RUN_ID": None}


def test_optional_defaults_apply_when_absent():
    args = glue_runtime.resolve_args(["s", "--run_id", "R1"], ("run_id",), {"max_reject_ratio": "1.0"})
    assert args["max_reject_ratio"] == "1.0"


def test_missing_required_argument_fails_naming_it(capsys):
    with pytest.raises(SystemExit):
        glue_runtime.resolve_args(["s", "--run_id", "R1"], ("run_id", "landing_path"), {})
    assert "--landing_path" in capsys.readouterr().err


def test_empty_required_argument_is_an_error():
    with pytest.raises(ValueError, match="--run_id is empty"):
        glue_runtime.resolve_args(["s", "--run_id", " "], ("run_id",), {})


def test_run_partition_path():
    assert glue_runtime.run_partition_path("s3://b/clean/", "R1") == "s3://b/clean/run_id=R1"
    with pytest.raises(ValueError):
        glue_runtime.run_partition_path("s3://b/clean", "")


def test_write_json_through_the_hadoop_filesystem(spark, tmp_path):
    target = tmp_path / "metrics" / "run_id=R1" / "landing.json"
    glue_runtime.write_json(spark, str(target), {"rows_read": 3, "stage": "landing"})
    assert json.loads(target.read_text()) == {"rows_read": 3, "stage": "landing"}
    glue_runtime.write_json(spark, str(target), {"rows_read": 4})  # overwrite
    assert json.loads(target.read_text()) == {"rows_read": 4}


def test_build_metrics_carries_the_common_fields():
    doc = glue_runtime.build_metrics("cleaning", {"run_id": "R1", "JOB_RUN_ID": "jr_1"}, 10, 7, rows_rejected=2)
    assert {k: doc[k] for k in ("stage", "run_id", "rows_read", "rows_written", "rows_rejected", "job_run_id")} == {
        "stage": "cleaning", "run_id": "R1", "rows_read": 10, "rows_written": 7, "rows_rejected": 2, "job_run_id": "jr_1"}
    assert doc["written_at"].endswith("+00:00")
