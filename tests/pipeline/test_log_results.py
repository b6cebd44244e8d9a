"""LogResults Lambda against a real S3 endpoint: run records, row counts from metrics, log line."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from fpac_test_support import FakeContext, load_handler

log_results = load_handler("LogResults")
create = load_handler("CreateNewId")
T0 = datetime(2025, 1, 25, 21, 32, 0, tzinfo=timezone.utc)


@pytest.fixture
def data_bucket(make_bucket, lambda_env, monkeypatch):
    name = make_bucket("fpac-results")
    monkeypatch.setenv("DATA_BUCKET", name)
    return name


def new_run(bucket):
    settings = create.settings_from_env({"DATA_BUCKET": bucket})
    return create.plan_run(create.new_run_id(T0), bucket, "incoming/payments.csv", settings, T0)


def put_metrics(s3, run, stage, document):
    bucket, key = log_results.parse_s3_uri(run["metrics"][stage])
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode())


def read_record(s3, result_path):
    bucket, key = log_results.parse_s3_uri(result_path)
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


EXECUTION = {"id": "arn:aws:states:us-east-2:123456789012:execution:wf:exec-1", "name": "exec-1", "start_time": "2025-01-25T21:31:00.000Z"}


def test_success_record_with_counts_from_every_stage(s3, data_bucket, capsys):
    run = new_run(data_bucket)
    put_metrics(s3, run, "landing", {"stage": "landing", "rows_read": 35, "rows_written": 35})
    put_metrics(s3, run, "cleaning", {"rows_read": 35, "rows_written": 18, "rows_rejected": 14, "rows_duplicate": 3, "reject_reasons": {"invalid_payment_date": 2}})
    put_metrics(s3, run, "final", {"rows_read": 18, "rows_written": 11})
    event = {
        "status": "SUCCEEDED",
        "run": run,
        "validation": {"valid": True, "reasons": [], "bucket": data_bucket, "key": "incoming/payments.csv"},
        "jobs": {"landing": {"job_run_id": "jr_1", "state": "SUCCEEDED"}},
        "execution": EXECUTION,
    }
    out = log_results.handler(event, FakeContext())

    assert out["status"] == "SUCCEEDED"
    assert out["run_id"] == run["run_id"]
    assert out["result_path"] == f"s3://{data_bucket}/results/date=2025-01-25/{run['run_id']}.json"
    record = read_record(s3, out["result_path"])
    assert record["row_counts"] == {"in": 35, "clean": 18, "rejected": 14, "duplicates": 3, "final": 11}
    assert record["reject_reasons"] == {"invalid_payment_date": 2}
    assert record["failed_stage"] is None and record["error"] is None
    assert record["source"]["path"] == f"s3://{data_bucket}/incoming/payments.csv"
    assert record["jobs"]["landing"]["job_run_id"] == "jr_1"
    assert record["execution"]["name"] == "exec-1"
    assert record["duration_seconds"] > 0
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(logged) == 1
    assert logged[0]["level"] == "INFO" and logged[0]["status"] == "SUCCEEDED"
    assert logged[0]["result_path"] == out["result_path"]


def test_failure_in_cleaning_keeps_the_counts_known_so_far(s3, data_bucket):
    run = new_run(data_bucket)
    put_metrics(s3, run, "landing", {"rows_read": 35, "rows_written": 35})
    glue_cause = json.dumps({"Id": "jr_2", "JobRunState": "FAILED", "ErrorMessage": "RejectRatioExceeded: 60% of rows rejected"})
    event = {"status": "FAILED", "stage": "cleaning", "error": {"Error": "States.TaskFailed", "Cause": glue_cause}, "run": run, "execution": EXECUTION}
    out = log_results.handler(event, FakeContext())
    record = read_record(s3, out["result_path"])
    assert out["failed_stage"] == "cleaning"
    assert record["status"] == "FAILED"
    assert record["error"] == {"error": "States.TaskFailed", "message": "RejectRatioExceeded: 60% of rows rejected"}
    assert record["row_counts"] == {"in": 35, "clean": None, "rejected": None, "duplicates": None, "final": None}
    assert record["metrics_problems"] == []


def test_rejected_file_before_any_run_id_uses_the_execution_name(s3, data_bucket, capsys):
    event = {
        "status": "FAILED",
        "stage": "validate",
        "error": {"Error": "FileRejected", "Cause": "the file failed validation; see reasons"},
        "reasons": ["header lacks required columns ['record_id']"],
        "validation": {"valid": False, "bucket": "in-bucket", "key": "incoming/x.csv", "reasons": ["header lacks required columns ['record_id']"]},
        "execution": {"id": "arn:...:exec", "name": "exec/with:odd chars", "start_time": "not-a-time"},
    }
    out = log_results.handler(event, FakeContext())
    assert out["run_id"] == "exec_with_odd_chars"
    record = read_record(s3, out["result_path"])
    assert record["validation_reasons"] == event["reasons"]
    assert record["source"] == {"bucket": "in-bucket", "key": "incoming/x.csv", "path": "s3://in-bucket/incoming/x.csv"}
    assert record["duration_seconds"] is None
    assert set(record["row_counts"].values()) == {None}
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["level"] == "ERROR"


def test_direct_invocation_falls_back_to_the_request_id(s3, data_bucket):
    out = log_results.handler({"status": "FAILED", "stage": "landing", "error": "Boom", "cause": "bad"}, FakeContext())
    assert out["run_id"] == "request-req-0001"
    assert read_record(s3, out["result_path"])["error"] == {"error": "Boom", "message": "bad"}


def test_unreadable_metrics_are_reported_not_fatal(s3, data_bucket):
    run = new_run(data_bucket)
    bucket, key = log_results.parse_s3_uri(run["metrics"]["landing"])
    s3.put_object(Bucket=bucket, Key=key, Body=b"{not json")
    put_metrics(s3, run, "cleaning", ["not", "an", "object"])
    run["metrics"]["final"] = "https://example.invalid/final.json"
    out = log_results.handler({"status": "SUCCEEDED", "run": run}, FakeContext())
    problems = read_record(s3, out["result_path"])["metrics_problems"]
    assert [p.split(":")[0] for p in problems] == ["landing", "cleaning", "final"]


def test_retry_overwrites_the_same_record(s3, data_bucket):
    run = new_run(data_bucket)
    first = log_results.handler({"status": "FAILED", "stage": "final", "error": "X", "run": run}, FakeContext())
    second = log_results.handler({"status": "FAILED", "stage": "crawler", "error": "Y", "run": run}, FakeContext())
    assert first["result_path"] == second["result_path"]
    assert read_record(s3, second["result_path"])["failed_stage"] == "crawler"


def test_lambda_error_cause_is_unpacked_and_long_text_truncated():
    cause = json.dumps({"errorMessage": "CreateNewId: event field 'key' is missing", "errorType": "ValueError", "stackTrace": ["..."]})
    assert log_results.describe_error({"Error": "ValueError", "Cause": cause}) == {"error": "ValueError", "message": "CreateNewId: event field 'key' is missing"}
    long = log_results.describe_error("E", "x" * 10_000)
    assert len(long["message"]) == log_results.MAX_CAUSE_CHARS + len("...[truncated]")
    assert log_results.describe_error(None, None) is None


@pytest.mark.parametrize(
    "event, message",
    [
        (None, "must be a JSON object"),
        ({"status": "DONE"}, "'status' must be one of"),
        ({"status": "FAILED", "run": "r"}, "'run' must be an object"),
    ],
)
def test_bad_events_raise(data_bucket, event, message):
    with pytest.raises(ValueError, match=message):
        log_results.handler(event, FakeContext())


def test_missing_data_bucket_raises(lambda_env, monkeypatch):
    monkeypatch.delenv("DATA_BUCKET", raising=False)
    with pytest.raises(ValueError, match="DATA_BUCKET"):
        log_results.handler({"status": "SUCCEEDED"}, FakeContext())
