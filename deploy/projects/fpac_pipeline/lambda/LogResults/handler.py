"""LogResults: record a run's outcome as one JSON object in S3 and one structured log line.

Event (built by the state machine):
  {"status": "SUCCEEDED" | "FAILED",
   "stage": failing stage (FAILED only: validate, create_id, landing, cleaning, final, crawler, log_results),
   "error": the caught error {"Error", "Cause"} (or an error name, with "cause" the text),
   "reasons": [...] validation reasons, when the file was rejected,
   "validation": Validate's summary, "run": CreateNewId's output (absent before CreateNewId),
   "jobs": {stage: {"job_run_id", "state"}}, "execution": {"id", "name", "start_time"}}

Row counts come from the metrics files the Glue jobs write (the paths are in run.metrics):
in = landing.rows_written, clean = cleaning.rows_written, rejected = cleaning.rows_rejected,
duplicates = cleaning.rows_duplicate, final = final.rows_written; a stage that did not run gives null.

Record: s3://DATA_BUCKET/RESULTS_PREFIX/date=<run date>/<run id>.json (overwritten by a retry).
Returns {"result_path", "status", "run_id", "failed_stage"}.

Environment:
  DATA_BUCKET     bucket for the run records (required)
  RESULTS_PREFIX  default 'results'
"""
import json
import os
import re
from datetime import datetime, timezone
from urllib.parse import urlparse

from botocore.exceptions import ClientError
from fpac_aws import s3_client

STATUSES = ("SUCCEEDED", "FAILED")
METRIC_STAGES = ("landing", "cleaning", "final")
MAX_CAUSE_CHARS = 4000
MAX_METRICS_BYTES = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")
_MISSING = {"404", "NoSuchKey", "NotFound"}
_DENIED = {"403", "AccessDenied"}


def settings_from_env(env):
    bucket = (env.get("DATA_BUCKET") or "").strip()
    if not bucket:
        raise ValueError("environment variable DATA_BUCKET is not set")
    prefix = (env.get("RESULTS_PREFIX") or "results").strip().strip("/")
    if not prefix:
        raise ValueError("environment variable RESULTS_PREFIX must not be empty")
    return {"bucket": bucket, "results_prefix": prefix}


def check_event(event):
    if not isinstance(event, dict):
        raise ValueError(f"LogResults: event must be a JSON object, got {type(event).__name__}")
    if event.get("status") not in STATUSES:
        raise ValueError(f"LogResults: event field 'status' must be one of {list(STATUSES)}, got {event.get('status')!r}")
    for name in ("run", "validation", "jobs", "execution"):
        if event.get(name) is not None and not isinstance(event[name], dict):
            raise ValueError(f"LogResults: event field {name!r} must be an object")


def safe_name(text):
    """S3-key-safe token: anything outside [A-Za-z0-9._=-] becomes '_'."""
    return _UNSAFE.sub("_", str(text)).strip("_")[:200]


def run_identity(event, fallback_id, now):
    """(run_id, run_date) from the run, else the execution name, else the fallback id."""
    run = event.get("run") or {}
    execution = event.get("execution") or {}
    run_id = run.get("run_id") or execution.get("name") or fallback_id
    run_date = run.get("run_date") or now.strftime("%Y-%m-%d")
    return safe_name(run_id), safe_name(run_date)


def describe_error(error, cause=None):
    """{'error', 'message'} from a Step Functions error ({"Error", "Cause"}) or separate values.

    A Lambda cause (JSON with errorMessage/errorType) and a Glue job-run cause (JSON with
    ErrorMessage) are unpacked to their message; long messages are truncated.
    """
    if isinstance(error, dict):
        error, cause = error.get("Error"), error.get("Cause", cause)
    if error is None and cause is None:
        return None
    message = cause
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            message = parsed["errorMessage"]
            error = error or parsed.get("errorType")
        elif isinstance(parsed, dict) and parsed.get("ErrorMessage"):
            message = parsed["ErrorMessage"]
    if message is not None and not isinstance(message, str):
        message = json.dumps(message, default=str)
    if message and len(message) > MAX_CAUSE_CHARS:
        message = message[:MAX_CAUSE_CHARS] + "...[truncated]"
    return {"error": error, "message": message}


def row_counts(metrics):
    """Run-level counts from the per-stage metrics documents (missing stage -> None)."""
    landing, cleaning, final = (metrics.get(stage) or {} for stage in METRIC_STAGES)
    return {
        "in": landing.get("rows_written"),
        "clean": cleaning.get("rows_written"),
        "rejected": cleaning.get("rows_rejected"),
        "duplicates": cleaning.get("rows_duplicate"),
        "final": final.get("rows_written"),
    }


def build_record(event, metrics, metric_problems, run_id, run_date, now):
    """The JSON record written to S3 (pure)."""
    run = event.get("run") or {}
    validation = event.get("validation") or {}
    execution = event.get("execution") or {}
    source = run.get("source") or {}
    if not source and validation.get("bucket") and validation.get("key"):
        bucket, key = validation["bucket"], validation["key"]
        source = {"bucket": bucket, "key": key, "path": f"s3://{bucket}/{key}"}
    record = {
        "run_id": run_id,
        "run_date": run_date,
        "status": event["status"],
        "failed_stage": event.get("stage") if event["status"] == "FAILED" else None,
        "error": describe_error(event.get("error"), event.get("cause")) if event["status"] == "FAILED" else None,
        "validation_reasons": event.get("reasons") or validation.get("reasons") or [],
        "source": source or None,
        "outputs": run.get("outputs"),
        "row_counts": row_counts(metrics),
        "reject_reasons": (metrics.get("cleaning") or {}).get("reject_reasons"),
        "metrics_problems": metric_problems,
        "jobs": event.get("jobs") or {},
        "execution": {"id": execution.get("id"), "name": execution.get("name"), "start_time": execution.get("start_time")},
        "finished_at": now.isoformat(timespec="seconds"),
        "duration_seconds": _duration(execution.get("start_time"), now),
    }
    return record


def _duration(start_time, now):
    if not isinstance(start_time, str):
        return None
    try:
        started = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if started.tzinfo is None:
        started = started.replace(tzinfo=timezone.utc)
    return round((now - started).total_seconds(), 3)


def parse_s3_uri(uri):
    parsed = urlparse(uri if isinstance(uri, str) else "")
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def read_metrics(s3, metric_paths):
    """({stage: document}, [problem, ...]); a missing file is expected when a stage did not run."""
    metrics, problems = {}, []
    for stage in METRIC_STAGES:
        uri = (metric_paths or {}).get(stage)
        if not uri:
            continue
        try:
            bucket, key = parse_s3_uri(uri)
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_METRICS_BYTES + 1)
        except ValueError as exc:
            problems.append(f"{stage}: {exc}")
            continue
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                continue  # the stage did not run
            if code in _DENIED:  # also what S3 answers for a missing key without s3:ListBucket
                problems.append(f"{stage}: access denied reading {uri} (missing, or the role lacks s3:GetObject/s3:ListBucket)")
                continue
            raise
        if len(body) > MAX_METRICS_BYTES:
            problems.append(f"{stage}: metrics file {uri} is larger than {MAX_METRICS_BYTES} bytes")
            continue
        try:
            document = json.loads(body)
        except ValueError as exc:
            problems.append(f"{stage}: metrics file {uri} is not JSON ({exc})")
            continue
        if not isinstance(document, dict):
            problems.append(f"{stage}: metrics file {uri} is not a JSON object")
            continue
        metrics[stage] = document
    return metrics, problems


def handler(event, context):
    settings = settings_from_env(os.environ)
    check_event(event)
    now = datetime.now(timezone.utc)
    fallback_id = f"request-{getattr(context, 'aws_request_id', None) or now.strftime('%Y%m%dT%H%M%S%fZ')}"
    run_id, run_date = run_identity(event, fallback_id, now)
    s3 = s3_client()
    metrics, problems = read_metrics(s3, (event.get("run") or {}).get("metrics"))
    record = build_record(event, metrics, problems, run_id, run_date, now)
    key = f"{settings['results_prefix']}/date={run_date}/{run_id}.json"
    s3.put_object(
        Bucket=settings["bucket"],
        Key=key,
        Body=(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8"),
        ContentType="application/json",
    )
    result_path = f"s3://{settings['bucket']}/{key}"
    level = "INFO" if record["status"] == "SUCCEEDED" else "ERROR"
    line = {"level": level, "message": "run finished", "component": "LogResults", "result_path": result_path, **record}
    print(json.dumps(line, default=str, sort_keys=True), flush=True)
    return {"result_path": result_path, "status": record["status"], "run_id": run_id, "failed_stage": record["failed_stage"]}
