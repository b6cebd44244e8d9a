"""What the deployer recorded, kept in the artifact bucket beside the lock (``lock.py``) and the history.

The record lists every resource a deployment of (project, environment) owns. Deletion works from
it — a resource dropped from the project is deleted only if the record lists it AND its tags say
we own it; never by a name pattern alone. An apply records what it is about to create *before*
creating it, so a deployment killed half-way leaves nothing unowned: a later ``destroy`` finds it.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .aws_common import AwsClients, error_code
from .errors import StateError

STATE_PREFIX = "_deployer"


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


def read_json_object(clients: AwsClients, bucket: str, key: str) -> Any | None:
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
        document = read_json_object(clients, where.bucket, where.record_key)
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
