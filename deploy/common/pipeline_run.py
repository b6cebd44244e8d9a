"""``deploy.py run``: put a file where the pipeline's trigger watches and follow the execution it starts.

The same path works against real AWS (a smoke run from Jenkins) and the embedded local AWS,
where the local layer runs the deployed Lambda code and Glue scripts for real.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from .aws_common import AwsClients
from .context import RunTarget
from .errors import DeployerError
from .execution_watch import DEFAULT_POLL_SECONDS, follow_execution, wait_for_execution

EventCallback = Callable[[dict[str, Any]], None]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass
class RunResult:
    execution_arn: str
    status: str
    input_uri: str
    reports: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] | None = None  # the run record a report points to (its "result_path")
    error: str = ""
    cause: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    def to_json(self) -> dict[str, Any]:
        return {"execution_arn": self.execution_arn, "status": self.status, "input": self.input_uri, "reports": self.reports,
                "record": self.record,
                **({"error": self.error, "cause": self.cause} if self.error else {})}


def input_key(target: RunTarget, path: Path, now: dt.datetime) -> str:
    """A fresh key per run, so re-running the same file starts a new execution."""
    return f"{target.incoming_prefix}{now:%Y%m%dT%H%M%S}-{path.name}"


def poll_settings(clients: AwsClients) -> dict[str, float]:
    """How often to poll Step Functions. On AWS the polls back off to execution_watch.MAX_POLL_SECONDS
    (the read quotas are the account's); the local AWS has no one else to leave them to, so the
    follower keeps the first interval and sees the end of a run within half a second."""
    target = clients.target
    if target.local or urlparse(target.endpoint_url or "").hostname in LOOPBACK_HOSTS:
        return {"max_poll_interval": DEFAULT_POLL_SECONDS}
    return {}


def run_pipeline(clients: AwsClients, target: RunTarget, input_path: Path, on_event: EventCallback,
                 start_timeout: float = 60.0, run_timeout: float = 1800.0) -> RunResult:
    """Upload ``input_path`` (the CLI has checked it exists) and follow the execution it starts."""
    s3 = clients.client("s3")
    sfn = clients.client("stepfunctions")
    now = dt.datetime.now(dt.timezone.utc)
    key = input_key(target, input_path, now)
    try:
        s3.upload_file(str(input_path), target.bucket, key, ExtraArgs={"ServerSideEncryption": "AES256"})
        polls = poll_settings(clients)
        execution_arn = wait_for_execution(sfn, target.state_machine_arn, started_after=now - dt.timedelta(seconds=1),
                                           timeout=start_timeout, **polls)
        reports: dict[str, Any] = {}

        def collect(event: dict[str, Any]) -> None:
            exited = event.get("stateExitedEventDetails")
            if exited and exited.get("name") in target.report_states:
                reports[exited["name"]] = json.loads(exited.get("output") or "null")
            on_event(event)

        final = follow_execution(sfn, execution_arn, collect, timeout=run_timeout, **polls)
        record = read_run_record(s3, reports)
    except (ClientError, BotoCoreError, S3UploadFailedError, TimeoutError) as exc:  # the upload's own error wraps AWS's
        raise DeployerError(f"run of s3://{target.bucket}/{key} failed: {exc}") from None
    return RunResult(execution_arn, final["status"], f"s3://{target.bucket}/{key}", reports, record,
                     final.get("error", ""), final.get("cause", ""))


def read_run_record(s3: Any, reports: dict[str, Any]) -> dict[str, Any] | None:
    """A report state may return ``result_path``, the s3:// URI of a JSON run record: fetch it."""
    for report in reports.values():
        uri = report.get("result_path", "") if isinstance(report, dict) else ""
        if uri.startswith("s3://"):
            bucket, _, key = uri[len("s3://"):].partition("/")
            return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return None
