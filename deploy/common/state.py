"""What the deployer recorded, and the environment's lock, both kept in the artifact bucket.

The record lists every resource a deployment of (project, environment) owns. Deletion works from
it — a resource dropped from the project is deleted only if the record lists it AND its tags say
we own it; never by a name pattern alone. An apply records what it is about to create *before*
creating it, so a deployment killed half-way leaves nothing unowned: a later ``destroy`` finds it.

The lock (an S3 object created with ``If-None-Match``) keeps two deployments of the same
environment from interleaving. It says who holds it, from where, since when, for which build
and history entry, so a person can decide whether it is stale.
"""
from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from . import retry
from .aws_common import AwsClients, error_code
from .errors import LockError, StateError

STATE_PREFIX = "_deployer"
STALE_LOCK_AFTER = dt.timedelta(hours=2)  # longer than any apply's waits; older locks are reported as stale


@dataclass(frozen=True)
class RecordLocation:
    bucket: str
    project: str
    environment: str

    @property
    def prefix(self) -> str:
        return f"{STATE_PREFIX}/{self.project}/{self.environment}/"

    @property
    def record_key(self) -> str:
        return self.prefix + "record.json"

    @property
    def lock_key(self) -> str:
        return self.prefix + "lock.json"

    @property
    def history_prefix(self) -> str:
        return self.prefix + "history/"


def _get_json(clients: AwsClients, bucket: str, key: str) -> Any | None:
    """The parsed JSON object at s3://bucket/key; None when it (or the bucket) does not exist."""
    try:
        body = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "NoSuchBucket", "404"):
            return None
        raise
    try:
        return json.loads(body)
    except ValueError as exc:
        raise StateError(f"s3://{bucket}/{key} is not valid JSON ({exc})") from None


def read_record(clients: AwsClients, where: RecordLocation) -> list[str]:
    """Resource keys ('kind:name') recorded by earlier deployments; empty if none (or no bucket yet)."""
    return read_record_state(clients, where)[0]


def read_record_state(clients: AwsClients, where: RecordLocation) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """The recorded keys, and what each recorded resource depends on (so deletions can run in reverse)."""
    uri = f"s3://{where.bucket}/{where.record_key}"
    recover = (f"restore an earlier version (the bucket is versioned: aws s3api list-object-versions --bucket {where.bucket} "
               f"--prefix {where.record_key}) and run again")
    try:
        document = _get_json(clients, where.bucket, where.record_key)
    except StateError as exc:
        raise StateError(f"the deployer's record is corrupt: {exc}; {recover}") from None
    if document is None:
        return [], {}
    resources = document.get("resources") if isinstance(document, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, str) and ":" in r for r in resources):
        raise StateError(f"the deployer's record {uri} has no list of 'kind:name' resources; {recover}")
    graph = document.get("depends_on") or {}
    dependencies = {k: tuple(v) for k, v in graph.items() if isinstance(v, list)} if isinstance(graph, dict) else {}
    return sorted(resources), dependencies


def write_record(clients: AwsClients, where: RecordLocation, resources: list[str], commit: str,
                 status: str = "settled", history_id: str = "", dependencies: dict[str, tuple[str, ...]] | None = None) -> None:
    """``status`` 'applying': the resources of an apply in progress are already listed (some may not exist yet).
    ``dependencies``: what each resource depends on, kept so that a later removal deletes in reverse order."""
    listed = sorted(set(resources))
    graph = {k: sorted(d for d in (dependencies or {}).get(k, ()) if d in listed) for k in listed}
    document = {
        "project": where.project,
        "environment": where.environment,
        "resources": listed,
        "depends_on": {k: v for k, v in graph.items() if v},
        "status": status,
        "history_id": history_id,
        "git_commit": commit,
        "updated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    clients.client("s3").put_object(Bucket=where.bucket, Key=where.record_key, Body=json.dumps(document, indent=2).encode(),
                                    ContentType="application/json", ServerSideEncryption="AES256")


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
        holder = _get_json(clients, where.bucket, where.lock_key)
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
