"""Deployment history: one immutable entry per apply, written as a journal while it happens.

An entry lives under ``_deployer/<project>/<env>/history/<id>/`` in the artifact bucket:
``start.json`` (who, from which commit and build, the config's digest, the plan), one
``changes/NNNN.json`` per finished change (outcome, duration) and ``end.json`` (result, and the
snapshot of what is deployed: every spec plus the Lambda versions, script object versions and
state machine revision it left live). Every object is written once, with ``If-None-Match: *``,
so nothing in history is ever overwritten; a killed apply leaves start and some changes, and the
entry reads as "interrupted".
"""
from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import socket
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from . import retry
from .aws_common import AwsClients, error_code
from .errors import StateError
from .snapshot import Snapshot
from .lock import read_lock
from .record import RecordLocation, read_json_object


def new_entry_id(now: dt.datetime | None = None) -> str:
    """Sortable by time to the millisecond (two runs in one second keep their order): 20261126T021409123Z-1a2b3c4d."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{uuid.uuid4().hex[:8]}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _git(repo: Path, *args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


@dataclass(frozen=True)
class Provenance:
    """Who deploys what from where: enough to answer "who changed prod, when, from which commit"."""

    commit: str
    branch: str = ""
    tag: str = ""
    build_url: str = ""
    user: str = ""
    host: str = ""
    config: str = ""
    config_digest: str = ""
    deployer_version: str = ""

    @classmethod
    def collect(cls, repo: Path, commit: str, config_path: Path) -> "Provenance":
        """From Jenkins' variables when present (BRANCH_NAME, TAG_NAME, BUILD_URL), else from git."""
        from .. import __version__

        branch = os.environ.get("BRANCH_NAME") or os.environ.get("GIT_BRANCH") or _git(repo, "rev-parse", "--abbrev-ref", "HEAD")
        tag = os.environ.get("TAG_NAME") or _git(repo, "describe", "--exact-match", "--tags", "HEAD")
        try:
            digest = "sha256:" + hashlib.sha256(config_path.read_bytes()).hexdigest()
        except OSError:
            digest = ""
        return cls(commit=commit, branch="" if branch == "HEAD" else branch, tag=tag,
                   build_url=os.environ.get("BUILD_URL", ""), user=getpass.getuser(), host=socket.gethostname(),
                   config=str(config_path), config_digest=digest, deployer_version=__version__)


class Journal:
    """Writes one history entry as the apply goes. Thread-safe: changes finish on worker threads."""

    def __init__(self, clients: AwsClients, where: RecordLocation, entry_id: str, retention_days: int | None = None):
        self.clients = clients
        self.where = where
        self.entry_id = entry_id
        self.retention_days = retention_days
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def prefix(self) -> str:
        return f"{self.where.history_prefix}{self.entry_id}/"

    def _put(self, name: str, document: dict[str, Any]) -> None:
        s3 = self.clients.client("s3")
        body = json.dumps(document, indent=1, default=str).encode()
        lock: dict[str, Any] = {}
        if self.retention_days:
            lock = {"ObjectLockMode": "COMPLIANCE",
                    "ObjectLockRetainUntilDate": dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=self.retention_days)}
        retry.call_with_retries(lambda: s3.put_object(
            Bucket=self.where.bucket, Key=self.prefix + name, Body=body, IfNoneMatch="*",
            ContentType="application/json", ServerSideEncryption="AES256", **lock),
            retry.S3_CONDITIONAL_CONFLICT, retry.budgets.s3_conflict, self.prefix + name)

    def started(self, operation: str, provenance: Provenance, plan: dict[str, Any], caller: str, **extra: Any) -> None:
        self._put("start.json", {"id": self.entry_id, "operation": operation, "started_at": _now(), "caller": caller,
                                 "provenance": provenance.__dict__, "plan": plan, **extra})

    def change(self, outcome: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            seq = self._seq
        self._put(f"changes/{seq:04d}.json", {**outcome, "finished_at": _now()})

    def finished(self, result: str, summary: dict[str, int], snapshot: Snapshot | None, error: str = "") -> None:
        self._put("end.json", {"id": self.entry_id, "finished_at": _now(), "result": result, "summary": summary,
                               **({"error": error} if error else {}),
                               **({"snapshot": snapshot.to_json()} if snapshot is not None else {})})


@dataclass
class HistoryEntry:
    id: str
    start: dict[str, Any]
    changes: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] | None = None
    status: str = "interrupted"  # succeeded | failed | running | interrupted

    @property
    def counts(self) -> dict[str, int]:
        summary = self.start.get("plan", {}).get("summary", {})
        return {a: int(summary.get(a, 0)) for a in ("create", "update", "delete")}

    @property
    def seconds(self) -> float | None:
        try:
            end = dt.datetime.fromisoformat((self.end or {})["finished_at"])
            return (end - dt.datetime.fromisoformat(self.start["started_at"])).total_seconds()
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def snapshot(self) -> Snapshot | None:
        document = (self.end or {}).get("snapshot")
        return Snapshot.from_json(document) if document else None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "operation": self.start.get("operation"),
                "started_at": self.start.get("started_at"), "caller": self.start.get("caller"),
                "provenance": self.start.get("provenance", {}), "counts": self.counts, "seconds": self.seconds,
                "start": self.start, "changes": self.changes, "end": self.end}


def list_entry_ids(clients: AwsClients, where: RecordLocation) -> list[str]:
    """Every history entry's id, newest first."""
    ids: list[str] = []
    paginator = clients.client("s3").get_paginator("list_objects_v2")
    try:
        for page in paginator.paginate(Bucket=where.bucket, Prefix=where.history_prefix, Delimiter="/"):
            ids += [p["Prefix"][len(where.history_prefix):].rstrip("/") for p in page.get("CommonPrefixes", [])]
    except ClientError as exc:
        if error_code(exc) in ("NoSuchBucket", "404"):
            return []
        raise
    return sorted(ids, reverse=True)


def load_entry(clients: AwsClients, where: RecordLocation, entry_id: str, lock: dict | None = None,
               with_changes: bool = True) -> HistoryEntry:
    """One entry; StateError naming it when it does not exist or is damaged."""
    prefix = f"{where.history_prefix}{entry_id}/"
    try:
        start = read_json_object(clients, where.bucket, prefix + "start.json")
        end = read_json_object(clients, where.bucket, prefix + "end.json")
    except StateError as exc:
        raise StateError(f"history entry {entry_id} is damaged: {exc}") from None
    if not isinstance(start, dict):
        raise StateError(f"no history entry {entry_id} for {where.project}/{where.environment} "
                         f"(see: deploy.py history)")
    changes: list[dict[str, Any]] = []
    if with_changes:
        s3 = clients.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=prefix + "changes/"):
            for item in page.get("Contents", []):
                changes.append(read_json_object(clients, where.bucket, item["Key"]) or {})
    if isinstance(end, dict):
        status = end.get("result", "failed")
    else:
        holder = lock if lock is not None else read_lock(clients, where)
        status = "running" if holder and holder.get("history_id") == entry_id else "interrupted"
    return HistoryEntry(entry_id, start, changes, end if isinstance(end, dict) else None, status)


def recent_entries(clients: AwsClients, where: RecordLocation, limit: int) -> list[HistoryEntry]:
    lock = read_lock(clients, where) or {}
    return [load_entry(clients, where, i, lock, with_changes=False) for i in list_entry_ids(clients, where)[:limit]]


def last_successful(clients: AwsClients, where: RecordLocation) -> HistoryEntry | None:
    """The newest entry that succeeded and left a snapshot (what "deployed" means for drift)."""
    for entry_id in list_entry_ids(clients, where):
        entry = load_entry(clients, where, entry_id, lock={}, with_changes=False)
        if entry.status == "succeeded" and entry.snapshot is not None:
            return entry
    return None
