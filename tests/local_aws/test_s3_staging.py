"""S3Staging against the local S3: only what a run touches is copied, and only its changes go back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy.local_aws.runtime.s3_staging import S3Staging

from .support import create_bucket


def _keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_staging_copies_named_objects_and_used_prefixes_only_and_writes_back_the_changes(
        clean_aws_endpoint: str, local_aws_client: Callable[..., Any], tmp_path: Path) -> None:
    s3 = local_aws_client("s3")
    create_bucket(s3, "data")
    create_bucket(s3, "reports")
    for key, body in {"in/a.csv": b"a", "out/run_id=1/old.parquet": b"old", "out/run_id=12/other.parquet": b"12",
                      "history/run_id=0/x.parquet": b"h", "keep.txt": b"k", "folder/": b""}.items():
        s3.put_object(Bucket="data", Key=key, Body=body)
    root = tmp_path / "s3"
    staging = S3Staging(root=root, client=s3, buckets={"data", "reports"})
    staging.prepare()

    # Objects named exactly by the arguments; a dataset root, a key not written yet and an unknown bucket are not.
    staging.stage_arguments(["--source", "s3://data/in/a.csv", "--root", "s3://data/history", "--metrics",
                             "s3://data/metrics/run_id=1/m.json", "--other", "s3://no-such-bucket/x"])
    assert (root / "data" / "in" / "a.csv").read_bytes() == b"a"
    assert not (root / "data" / "history").exists()
    # A Spark path: that prefix only (run_id=1, not run_id=12); other values are ignored.
    staging.stage_uri("s3a://data/out/run_id=1/")
    staging.stage_uri("/not/s3")
    staging.stage_uri("s3://no-such-bucket/x")
    assert sorted(p.name for p in (root / "data" / "out").iterdir()) == ["run_id=1"]
    assert sorted(p.name for p in root.iterdir()) == ["data", "reports"]

    # The job: overwrite run_id=1 (Spark deletes the old file, writes parts, checksums, _temporary),
    # write a report in another bucket, and then read the whole dataset root.
    run1 = root / "data" / "out" / "run_id=1"
    (run1 / "old.parquet").unlink()
    (run1 / "part-0.parquet").write_bytes(b"new")
    (run1 / ".part-0.parquet.crc").write_bytes(b"crc")
    (run1 / "_temporary" / "0").mkdir(parents=True)
    (run1 / "_temporary" / "0" / "x").write_bytes(b"tmp")
    (root / "reports" / "r").mkdir()
    (root / "reports" / "r" / "x.json").write_bytes(b"{}")
    staging.stage_uri("s3://data/out")  # brings run_id=12; run_id=1 is the job's own now (old.parquet stays gone)
    assert (root / "data" / "out" / "run_id=12" / "other.parquet").read_bytes() == b"12"
    assert not (run1 / "old.parquet").exists()

    assert staging.write_back() == {"uploaded": 2, "deleted": 1, "uploaded_bytes": 5}
    assert _keys(s3, "data") == ["folder/", "history/run_id=0/x.parquet", "in/a.csv", "keep.txt",
                                 "out/run_id=1/part-0.parquet", "out/run_id=12/other.parquet"]
    assert _keys(s3, "reports") == ["r/x.json"]
    staging.clear()
    assert list(root.iterdir()) == []
