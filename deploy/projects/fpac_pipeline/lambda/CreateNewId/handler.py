"""CreateNewId: issue a run id and the S3 locations every stage of that run reads and writes.

This is the one place the data layout is derived, so the Glue jobs stay generic (they receive
paths as arguments) and LogResults finds the metrics where the jobs wrote them. No AWS calls.

Run id: '<UTC yyyymmddTHHMMSSZ>-<UUIDv7>', e.g. '20250125T213200Z-01949f0c-5a2b-7c3d-8e4f-0a1b2c3d4e5f'.
It sorts by creation time as text (the date prefix, then UUIDv7's millisecond timestamp), is
unique (74 random bits per millisecond) and is safe in S3 keys and Hive partition names.

Event: {"bucket": ..., "key": ...} (the validated source object).

Environment:
  DATA_BUCKET        bucket for everything the pipeline writes (required)
  LANDING_PREFIX     default 'landing'
  CLEAN_PREFIX       default 'clean'
  QUARANTINE_PREFIX  default 'quarantine'
  FINAL_PREFIX       default 'final'
  METRICS_PREFIX     default 'metrics'
"""
import json
import os
import re
import secrets
import time
import uuid
from datetime import datetime, timezone

STAGES = ("landing", "cleaning", "final")
PREFIX_SETTINGS = {
    "landing": ("LANDING_PREFIX", "landing"),
    "clean": ("CLEAN_PREFIX", "clean"),
    "quarantine": ("QUARANTINE_PREFIX", "quarantine"),
    "final": ("FINAL_PREFIX", "final"),
    "metrics": ("METRICS_PREFIX", "metrics"),
}
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")


def uuid7(unix_ms=None, random_bytes=None):
    """RFC 9562 UUID version 7: 48-bit Unix milliseconds, then 74 random bits."""
    unix_ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = int.from_bytes(random_bytes if random_bytes is not None else secrets.token_bytes(10), "big")
    if not 0 <= unix_ms < 1 << 48:
        raise ValueError(f"uuid7 timestamp out of range: {unix_ms}")
    rand_a = (rand >> 62) & 0xFFF  # 12 bits
    rand_b = rand & ((1 << 62) - 1)  # 62 bits
    value = (unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def new_run_id(now=None, random_bytes=None):
    """'<yyyymmddTHHMMSSZ>-<uuid7>' for the given UTC datetime (default: now)."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("new_run_id needs a timezone-aware datetime")
    now = now.astimezone(timezone.utc)
    unix_ms = int(now.timestamp() * 1000)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid7(unix_ms, random_bytes)}"


def settings_from_env(env):
    """{'bucket': DATA_BUCKET, 'prefixes': {name: prefix}}; ValueError names a bad variable."""
    bucket = (env.get("DATA_BUCKET") or "").strip()
    if not _BUCKET_NAME.match(bucket):
        raise ValueError(f"environment variable DATA_BUCKET must be an S3 bucket name, got {bucket!r}")
    prefixes = {}
    for name, (variable, default) in PREFIX_SETTINGS.items():
        prefix = (env.get(variable) or default).strip().strip("/")
        if not _PREFIX.match(prefix):
            raise ValueError(f"environment variable {variable} must be an S3 key prefix like 'a/b', got {prefix!r}")
        prefixes[name] = prefix
    return {"bucket": bucket, "prefixes": prefixes}


def source_location(event):
    """(bucket, key) of the source object; ValueError when the event lacks them."""
    if not isinstance(event, dict):
        raise ValueError(f"CreateNewId: event must be a JSON object, got {type(event).__name__}")
    bucket, key = event.get("bucket"), event.get("key")
    if not isinstance(bucket, str) or not bucket.strip():
        raise ValueError("CreateNewId: event field 'bucket' is missing or empty")
    if not isinstance(key, str) or not key.strip():
        raise ValueError("CreateNewId: event field 'key' is missing or empty")
    return bucket.strip(), key


def plan_run(run_id, source_bucket, source_key, settings, created_at):
    """The run record every later state uses (pure)."""
    bucket, prefixes = settings["bucket"], settings["prefixes"]
    roots = {name: f"s3://{bucket}/{prefix}" for name, prefix in prefixes.items() if name != "metrics"}
    metrics_dir = f"s3://{bucket}/{prefixes['metrics']}/run_id={run_id}"
    return {
        "run_id": run_id,
        "run_date": created_at.strftime("%Y-%m-%d"),
        "created_at": created_at.isoformat(timespec="seconds"),
        "data_bucket": bucket,
        "source": {"bucket": source_bucket, "key": source_key, "path": f"s3://{source_bucket}/{source_key}"},
        # Dataset roots, passed to the Glue jobs; each job writes '<root>/run_id=<run_id>/'.
        "paths": {"source": f"s3://{source_bucket}/{source_key}", **roots},
        # This run's partitions, for people and the run record.
        "outputs": {name: f"{root}/run_id={run_id}/" for name, root in roots.items()},
        # Each stage's metrics file (written by the Glue job, read by LogResults).
        "metrics": {stage: f"{metrics_dir}/{stage}.json" for stage in STAGES},
    }


def handler(event, context):
    settings = settings_from_env(os.environ)
    source_bucket, source_key = source_location(event)
    created_at = datetime.now(timezone.utc)
    run = plan_run(new_run_id(created_at), source_bucket, source_key, settings, created_at)
    print(
        json.dumps(
            {
                "level": "INFO",
                "message": "run created",
                "component": "CreateNewId",
                "run_id": run["run_id"],
                "source": run["source"]["path"],
                "request_id": getattr(context, "aws_request_id", None),
            },
            sort_keys=True,
        ),
        flush=True,
    )
    return run
