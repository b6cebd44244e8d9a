"""The S3 prefixes one Glue run touches, staged on local disk for Spark (no S3 connector here).

Hadoop serves s3://, s3a:// and s3n:// paths from <root>/<bucket>/... (hadoop_s3_mapping), so the
script sees and uses real s3:// paths. Nothing is copied up front but the objects the job's
arguments name exactly (e.g. --source_path s3://data/incoming/x.csv); a dataset root such as
--landing_path s3://data/landing is not listed. A path given to a Spark reader or writer is staged
the first time it is used: the objects under that prefix only (one run partition, not the dataset's
history; the whole root only if the job reads the root). When the run ends, write_back() uploads
the files that are new or changed, deletes the staged objects whose files the job removed
(Spark's overwrite mode), and clear() empties the root: nothing is kept or grows between runs.
Spark's local checksum files (.*.crc) and _temporary folders are never uploaded. Uploads go
through the S3 API, so S3 raises its events for them as on AWS.

Standard library plus a boto3 client passed in; the Spark worker imports it as a sibling module.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

S3_SCHEMES = ("s3://", "s3a://", "s3n://")
GLOB_CHARS = "*?[{"
TRANSFER_THREADS = 4


def parse_s3_uri(uri: str) -> tuple[str, str] | None:
    """'s3://bucket/a/b' -> ('bucket', 'a/b'); None for anything else."""
    for scheme in S3_SCHEMES:
        if uri.startswith(scheme):
            bucket, _, key = uri[len(scheme):].partition("/")
            return (bucket, key) if bucket else None
    return None


def hadoop_s3_mapping(buckets: Iterable[str], root: Path) -> dict[str, str]:
    """Hadoop settings that serve s3://, s3a:// and s3n:// from <root>/<bucket> for each bucket.

    ViewFileSystemOverloadScheme (Hadoop 3.3) mounts a file system under another scheme; the mount
    table is named after the URI authority (the bucket), and linkFallback sends every path in it to
    the bucket's folder, so listing, partition discovery and direct FileSystem use all work.
    """
    settings = {f"fs.{scheme[:-3]}.impl": "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme"
                for scheme in S3_SCHEMES}
    for bucket in buckets:
        settings[f"fs.viewfs.mounttable.{bucket}.linkFallback"] = (Path(root) / bucket).resolve().as_uri()
    return settings


def s3_uris_in(values: Iterable[str]) -> list[tuple[str, str]]:
    """(bucket, key) of each s3 URI among values (e.g. a job's arguments), in first-seen order."""
    found = (parse_s3_uri(v) for v in values if isinstance(v, str))
    return list(dict.fromkeys(p for p in found if p))


def listing_prefix(key: str) -> str:
    """The key prefix a path stands for: 'a/b/' and 'a/b' -> 'a/b'; a glob 'a/run_id=*/x' -> 'a'."""
    cut = min((key.find(c) for c in GLOB_CHARS if c in key), default=-1)
    if cut >= 0:
        key = key[:cut].rpartition("/")[0]
    return key.strip("/")


def under(key: str, prefix: str) -> bool:
    """True if key is the prefix itself or inside it as a folder ('' is the whole bucket)."""
    return not prefix or key == prefix or key.startswith(prefix + "/")


def is_local_artifact(relative_key: str) -> bool:
    """Files the local filesystem adds that S3 would not have."""
    parts = relative_key.split("/")
    name = parts[-1]
    return "_temporary" in parts or (name.startswith(".") and name.endswith(".crc"))


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


@dataclass
class S3Staging:
    root: Path
    client: Any  # boto3 S3 client bound to the local endpoint
    buckets: set[str]  # buckets that exist (the others are not mounted: using them fails, as on AWS)
    staged: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (bucket, key) -> stamp
    prefixes: dict[str, list[str]] = field(default_factory=dict)  # bucket -> staged prefixes
    downloaded_bytes: int = 0

    def prepare(self) -> None:
        """An empty folder per bucket (a mount target must exist)."""
        self.clear()
        for bucket in self.buckets:
            (self.root / bucket).mkdir(parents=True, exist_ok=True)

    def covered(self, bucket: str, key: str) -> bool:
        return any(under(key, p) for p in self.prefixes.get(bucket, ()))

    def stage_arguments(self, values: Iterable[str]) -> None:
        """Stage the objects the values name exactly (not the prefixes they may be roots of)."""
        wanted = []
        for bucket, key in s3_uris_in(values):
            if bucket not in self.buckets or not key or key.endswith("/") or self.covered(bucket, key):
                continue
            try:
                head = self.client.head_object(Bucket=bucket, Key=key)
            except self.client.exceptions.ClientError:
                continue  # not an object (a prefix, or not written yet)
            wanted.append((bucket, key, head.get("ContentLength", 0)))
        self._download(wanted)

    def stage_uri(self, uri: Any) -> None:
        """Stage the objects under an s3 path a Spark reader or writer was given (no-op for other values)."""
        parsed = parse_s3_uri(uri) if isinstance(uri, str) else None
        if parsed is None or parsed[0] not in self.buckets:
            return
        bucket, key = parsed
        prefix = listing_prefix(key)
        if self.covered(bucket, prefix):
            return
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        listed = [(bucket, obj["Key"], obj.get("Size", 0)) for page in pages for obj in page.get("Contents", [])]
        # What an earlier staging covered is the job's own now (it may have changed or removed it).
        self._download([o for o in listed if under(o[1], prefix) and not self.covered(bucket, o[1])])
        self.prefixes.setdefault(bucket, []).append(prefix)

    def _download(self, objects: list[tuple[str, str, int]]) -> None:
        todo = []
        for bucket, key, size in objects:
            target = self.root / bucket / key
            if (bucket, key) in self.staged or target.exists():
                continue  # already here, or written by the job: its version wins
            if key.endswith("/"):  # folder marker
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            todo.append((bucket, key, target))
            self.downloaded_bytes += size
        if not todo:
            return

        def fetch(item: tuple[str, str, Path]) -> None:
            bucket, key, target = item
            self.client.download_file(bucket, key, str(target))
            self.staged[(bucket, key)] = _stamp(target)

        self._each(fetch, todo)

    def local_files(self) -> dict[tuple[str, str], Path]:
        """(bucket, key) -> file for every file under the root that S3 would hold."""
        found = {}
        for bucket in self.buckets:
            base = self.root / bucket
            for dirpath, _, filenames in os.walk(base):
                for name in filenames:
                    path = Path(dirpath) / name
                    key = path.relative_to(base).as_posix()
                    if not is_local_artifact(key):
                        found[(bucket, key)] = path
        return found

    def write_back(self) -> dict[str, int]:
        """Upload new and changed files, delete staged objects whose files are gone; counts."""
        files = self.local_files()
        uploads = [(bucket, key, path) for (bucket, key), path in sorted(files.items())
                   if self.staged.get((bucket, key)) != _stamp(path)]
        deletes: dict[str, list[str]] = {}
        for bucket, key in sorted(self.staged):
            if (bucket, key) not in files:
                deletes.setdefault(bucket, []).append(key)

        def upload(item: tuple[str, str, Path]) -> None:
            bucket, key, path = item
            self.client.upload_file(str(path), bucket, key)

        self._each(upload, uploads)
        for bucket, keys in deletes.items():
            for start in range(0, len(keys), 1000):
                self.client.delete_objects(Bucket=bucket, Delete={
                    "Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True})
        return {"uploaded": len(uploads), "deleted": sum(map(len, deletes.values())),
                "uploaded_bytes": sum(p.stat().st_size for _, _, p in uploads)}

    def clear(self) -> None:
        """Remove every staged and written file (nothing is kept between runs)."""
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _each(fn: Any, items: list[Any]) -> None:
        if len(items) == 1:
            fn(items[0])
        elif items:
            with ThreadPoolExecutor(max_workers=TRANSFER_THREADS) as pool:
                list(pool.map(fn, items))
