"""A local copy of S3 buckets for a Spark job that cannot reach S3 (no S3A connector here).

Hadoop maps s3://bucket/... to <root>/<bucket>/... (see hadoop_s3_mapping). A bucket is downloaded
there before the job first uses it; when the job ends, sync_back() uploads new and changed files and
deletes objects whose files the job removed (Spark's overwrite mode), so S3 ends as it would have
on AWS. Files written into a bucket that was never downloaded are uploaded too (nothing is deleted
there). Spark's local checksum files (.*.crc) and _temporary folders are never uploaded.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

S3_SCHEMES = ("s3://", "s3a://", "s3n://")


def parse_s3_uri(uri: str) -> tuple[str, str] | None:
    """'s3://bucket/a/b' -> ('bucket', 'a/b'); None for anything else."""
    for scheme in S3_SCHEMES:
        if uri.startswith(scheme):
            bucket, _, key = uri[len(scheme):].partition("/")
            return (bucket, key) if bucket else None
    return None


def hadoop_s3_mapping(buckets: list[str], root: Path) -> dict[str, str]:
    """Hadoop settings that serve s3://, s3a:// and s3n:// from <root>/<bucket> for each bucket.

    ViewFileSystemOverloadScheme (Hadoop 3.3) mounts a file system under another scheme; the mount
    table is named after the URI authority (the bucket), and linkFallback sends every path in it to
    the bucket's folder, so listing, partition discovery and direct FileSystem use all work.
    """
    settings = {f"fs.{scheme[:-3]}.impl": "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme"
                for scheme in S3_SCHEMES}
    for bucket in buckets:
        settings[f"fs.viewfs.mounttable.{bucket}.linkFallback"] = (root / bucket).resolve().as_uri()
    return settings


def s3_buckets_in(values: list[str]) -> list[str]:
    """Buckets named by s3 URIs among values (e.g. a job's arguments), in first-seen order."""
    found = (parse_s3_uri(v) for v in values)
    return list(dict.fromkeys(p[0] for p in found if p))


def is_local_artifact(relative_key: str) -> bool:
    """Files the local filesystem adds that S3 would not have."""
    parts = relative_key.split("/")
    name = parts[-1]
    return "_temporary" in parts or (name.startswith(".") and name.endswith(".crc"))


def plan_sync(before: dict[str, str], after: dict[str, str]) -> tuple[list[str], list[str]]:
    """(keys to upload, keys to delete) given {key: content hash} before and after the job."""
    uploads = sorted(k for k, digest in after.items() if before.get(k) != digest)
    deletes = sorted(k for k in before if k not in after)
    return uploads, deletes


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class S3Mirror:
    root: Path
    client: Any  # boto3 S3 client bound to the local endpoint
    snapshots: dict[str, dict[str, str]] = field(default_factory=dict)  # bucket -> {key: digest}

    def ensure_uri(self, uri: str) -> None:
        """Mirror the bucket of an s3 URI (no-op for other strings)."""
        parsed = parse_s3_uri(uri)
        if parsed is not None:
            self.ensure_bucket(parsed[0])

    def ensure_bucket(self, bucket: str) -> None:
        """Download the bucket once. A bucket that does not exist is left out, so using it fails as on AWS."""
        if bucket in self.snapshots:
            return
        try:
            objects = [obj["Key"] for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                       for obj in page.get("Contents", [])]
        except self.client.exceptions.NoSuchBucket:
            self.snapshots[bucket] = {}
            return
        base = self.root / bucket
        base.mkdir(parents=True, exist_ok=True)
        snapshot: dict[str, str] = {}
        for key in objects:
            target = base / key
            if key.endswith("/"):  # folder marker
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            self.client.download_file(bucket, key, str(target))
            snapshot[key] = file_digest(target)
        self.snapshots[bucket] = snapshot

    def _current(self, bucket: str) -> dict[str, str]:
        base = self.root / bucket
        current: dict[str, str] = {}
        for dirpath, _, filenames in os.walk(base):
            for name in filenames:
                path = Path(dirpath) / name
                key = path.relative_to(base).as_posix()
                if not is_local_artifact(key):
                    current[key] = file_digest(path)
        return current

    def sync_back(self) -> dict[str, int]:
        """Upload new/changed files and delete removed ones, for every bucket folder under root."""
        uploaded = deleted = 0
        written = [p.name for p in self.root.iterdir() if p.is_dir()] if self.root.is_dir() else []
        for bucket in sorted(set(self.snapshots) | set(written)):
            uploads, deletes = plan_sync(self.snapshots.get(bucket, {}), self._current(bucket))
            for key in uploads:
                self.client.upload_file(str(self.root / bucket / key), bucket, key)
            for key in deletes:
                self.client.delete_object(Bucket=bucket, Key=key)
            uploaded += len(uploads)
            deleted += len(deletes)
        return {"uploaded": uploaded, "deleted": deleted}
