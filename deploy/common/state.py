"""What the deployer recorded, and the environment's lock, both kept in the artifact bucket.

The record lists every resource a deployment of (project, environment) owns. Deletion works from
it — a resource dropped from the project is deleted only if the record lists it AND its tags say
we own it; never by a name pattern alone. The lock (an S3 object created with ``If-None-Match``)
keeps two deployments of the same environment from interleaving.
"""
from __future__ import annotations

import datetime as dt
import getpass
import json
import socket
import uuid
from dataclasses import dataclass

from botocore.exceptions import ClientError

from . import retry
from .aws_common import AwsClients, error_code
from .errors import LockError

STATE_PREFIX = "_deployer"


@dataclass(frozen=True)
class RecordLocation:
    bucket: str
    project: str
    environment: str

    @property
    def record_key(self) -> str:
        return f"{STATE_PREFIX}/{self.project}/{self.environment}/record.json"

    @property
    def lock_key(self) -> str:
        return f"{STATE_PREFIX}/{self.project}/{self.environment}/lock.json"


def read_record(clients: AwsClients, where: RecordLocation) -> list[str]:
    """Resource keys ('kind:name') recorded by earlier deployments; empty if none (or no bucket yet)."""
    try:
        body = clients.client("s3").get_object(Bucket=where.bucket, Key=where.record_key)["Body"].read()
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "NoSuchBucket", "404"):
            return []
        raise
    return sorted(json.loads(body)["resources"])


def write_record(clients: AwsClients, where: RecordLocation, resources: list[str], commit: str) -> None:
    document = {
        "project": where.project,
        "environment": where.environment,
        "resources": sorted(resources),
        "git_commit": commit,
        "updated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    clients.client("s3").put_object(Bucket=where.bucket, Key=where.record_key, Body=json.dumps(document, indent=2).encode(),
                                    ContentType="application/json", ServerSideEncryption="AES256")


def acquire_lock(clients: AwsClients, where: RecordLocation) -> str:
    """Create the lock object, failing if one exists; returns the lock id."""
    lock_id = str(uuid.uuid4())
    holder = {"id": lock_id, "who": f"{getpass.getuser()}@{socket.gethostname()}",
              "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
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
        current = _read_lock(clients, where) or {}
        raise LockError(
            f"{where.project}/{where.environment} is locked by {current.get('who', '?')} since {current.get('created_at', '?')} "
            f"(lock id {current.get('id', '?')}); if that deployment is dead, run: deploy.py unlock --lock-id {current.get('id', '?')}"
        ) from None
    return lock_id


def _read_lock(clients: AwsClients, where: RecordLocation) -> dict | None:
    try:
        return json.loads(clients.client("s3").get_object(Bucket=where.bucket, Key=where.lock_key)["Body"].read())
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise


def release_lock(clients: AwsClients, where: RecordLocation, lock_id: str) -> None:
    """Delete the lock if it is still ours; LockError if it holds another id."""
    current = _read_lock(clients, where)
    if current is None:
        return
    if current.get("id") != lock_id:
        raise LockError(f"lock of {where.project}/{where.environment} is held by id {current.get('id')}, not {lock_id}; left in place")
    clients.client("s3").delete_object(Bucket=where.bucket, Key=where.lock_key)
