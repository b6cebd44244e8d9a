"""The environment's lock, an S3 object beside the record (``record.py``).

Created with ``If-None-Match``, it keeps two deployments of the same (project, environment) from interleaving.
It says who holds it, from where, since when, for which build and history entry, so a person can decide
whether it is stale.
"""
from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import uuid
from typing import Any

from botocore.exceptions import ClientError

from . import retry
from .aws_common import AwsClients, error_code
from .errors import LockError, StateError
from .record import RecordLocation, read_json_object

STALE_LOCK_AFTER = dt.timedelta(hours=2)  # longer than any apply's waits; older locks are reported as stale


def acquire_lock(clients: AwsClients, where: RecordLocation, operation: str, history_id: str = "") -> str:
    """Create the lock object, failing if one exists; returns the lock id."""
    lock_id = str(uuid.uuid4())
    holder = {
        "id": lock_id,
        "who": f"{getpass.getuser()}@{socket.gethostname()}",
        "caller": clients.identity.get("Arn", ""),
        "operation": operation,
        "history_id": history_id,
        "build_url": os.environ.get("BUILD_URL", ""),
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    s3 = clients.client("s3")
    try:
        # 409 ConditionalRequestConflict: a concurrent write or delete of the key (e.g. the previous holder's
        # release) was in flight; S3 says retry. 412 PreconditionFailed: the lock exists.
        retry.call_with_retries(lambda: s3.put_object(
            Bucket=where.bucket, Key=where.lock_key, Body=json.dumps(holder).encode(), IfNoneMatch="*",
            ContentType="application/json", ServerSideEncryption="AES256"), retry.S3_CONDITIONAL_CONFLICT,
            retry.budgets.s3_conflict, where.lock_key)
    except ClientError as exc:
        if error_code(exc) not in ("PreconditionFailed", "412"):
            raise
        raise LockError(describe_lock(where, read_lock(clients, where) or {})) from None
    return lock_id


def describe_lock(where: RecordLocation, holder: dict[str, Any], now: dt.datetime | None = None) -> str:
    """One line: who holds the lock, since when, whether it looks stale, and how to release it."""
    since = holder.get("created_at", "?")
    age = ""
    try:
        held = (now or dt.datetime.now(dt.timezone.utc)) - dt.datetime.fromisoformat(since)
        minutes = int(held.total_seconds() // 60)
        age = f" ({minutes // 60}h{minutes % 60:02d}m ago{', stale' if held > STALE_LOCK_AFTER else ''})"
    except (TypeError, ValueError):
        pass
    by = holder.get("who", "?") + (f" as {holder['caller']}" if holder.get("caller") else "")
    build = f", build {holder['build_url']}" if holder.get("build_url") else ""
    lock_id = holder.get("id", "?")
    return (f"{where.project}/{where.environment} is locked by {by} for {holder.get('operation', 'a deployment')} "
            f"since {since}{age}{build} (lock id {lock_id}); if that deployment is dead, run: "
            f"deploy.py unlock --lock-id {lock_id}")


def read_lock(clients: AwsClients, where: RecordLocation) -> dict | None:
    """The lock's holder, or None when the environment is not locked. A damaged lock still counts as held."""
    try:
        holder = read_json_object(clients, where.bucket, where.lock_key)
    except StateError:
        return {"id": "?", "who": "unknown (the lock object is damaged)"}
    return holder if holder is None or isinstance(holder, dict) else {"id": "?", "who": "unknown"}


def release_lock(clients: AwsClients, where: RecordLocation, lock_id: str) -> None:
    """Delete the lock if it is still ours; LockError if it holds another id."""
    current = read_lock(clients, where)
    if current is None:
        return
    if current.get("id") != lock_id:
        raise LockError(f"lock of {where.project}/{where.environment} is held by id {current.get('id')}, not {lock_id}; left in place")
    clients.client("s3").delete_object(Bucket=where.bucket, Key=where.lock_key)
