"""Small helpers shared by the local AWS tests."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from typing import Any

REGION = "us-east-2"
TRUST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


def create_role(iam: Any, name: str = "local-aws-test-role") -> str:
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_POLICY)["Role"]["Arn"]


def create_bucket(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


def wait_until(probe: Callable[[], Any], timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll probe() until it returns something truthy; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_for_job_run(glue: Any, job: str, run_id: str, timeout: float) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        return run if run["JobRunState"] not in ("STARTING", "RUNNING", "STOPPING") else None

    return wait_until(finished, timeout, interval=0.3, what=f"Glue run {run_id} of {job}")
