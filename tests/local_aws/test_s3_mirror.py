"""S3Mirror against the local S3: bucket download, then sync back of a job's changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy.common.local_aws.runtime.s3_mirror import S3Mirror

from .support import create_bucket


def test_mirror_round_trip(clean_aws_endpoint: str, local_aws_client: Callable[..., Any], tmp_path: Path) -> None:
    s3 = local_aws_client("s3")
    create_bucket(s3, "data")
    create_bucket(s3, "reports")
    for key, body in {"in/a.csv": b"a", "out/old.csv": b"old", "keep.txt": b"k", "folder/": b""}.items():
        s3.put_object(Bucket="data", Key=key, Body=body)
    mirror = S3Mirror(root=tmp_path, client=s3)

    mirror.ensure_uri("s3a://data/in/a.csv")
    mirror.ensure_uri("/not/s3")
    mirror.ensure_uri("s3://no-such-bucket/x")  # left out: using it fails later, as on AWS
    assert (tmp_path / "data" / "in" / "a.csv").read_bytes() == b"a"
    assert (tmp_path / "data" / "folder").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]

    (tmp_path / "data" / "out" / "old.csv").unlink()  # what Spark's overwrite does
    (tmp_path / "data" / "out" / "part-0.csv").write_bytes(b"new")
    (tmp_path / "data" / "out" / ".part-0.csv.crc").write_bytes(b"crc")
    (tmp_path / "data" / "in" / "a.csv").write_bytes(b"changed")
    (tmp_path / "reports" / "r").mkdir(parents=True)  # a bucket written without being downloaded first
    (tmp_path / "reports" / "r" / "x.json").write_bytes(b"{}")

    assert mirror.sync_back() == {"uploaded": 3, "deleted": 1}
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="data")["Contents"])
    assert keys == ["folder/", "in/a.csv", "keep.txt", "out/part-0.csv"]
    assert s3.get_object(Bucket="data", Key="in/a.csv")["Body"].read() == b"changed"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="reports")["Contents"]] == ["r/x.json"]
