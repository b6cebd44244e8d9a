"""Faults injected on the client side with botocore's before-send event, so botocore's real retry logic runs."""
from __future__ import annotations

import json
import threading

import pytest
from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body

    def read(self, *_):
        return self._body


def inject(operation: str, code: str, message: str, status: int = 400, times: int = 1):
    """A before-send hook that fails the first ``times`` calls of a JSON-protocol operation."""
    state = {"left": times, "seen": 0}
    lock = threading.Lock()

    def hook(request, **kwargs):
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        name = kwargs.get("event_name", "")
        if not (target.endswith("." + operation) or name.endswith("." + operation)):
            return None
        with lock:
            state["seen"] += 1
            if state["left"] <= 0:
                return None
            state["left"] -= 1
        body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
        return AWSResponse(request.url, status, {"x-amzn-ErrorType": code, "Content-Type": "application/json"}, _Raw(body))

    return hook, state


def test_throttling_is_retried_by_botocore(runner, write_config):
    hook, state = inject("CreateJob", "ThrottlingException", "Rate exceeded", status=400, times=2)
    plan, result = runner.deploy(write_config(), hooks=[("before-send.glue.CreateJob", hook)])
    assert result.ok, [o.error for o in result.failed]
    assert state["seen"] == 3 + 2  # three jobs, two throttled attempts retried


def test_hard_failure_stops_with_a_clear_message_and_a_rerun_converges(runner, write_config, local_aws_client):
    config = write_config()
    hook, _ = inject("CreateJob", "AccessDeniedException", "User is not authorized to perform: glue:CreateJob", times=99)
    plan, result = runner.deploy(config, hooks=[("before-send.glue.CreateJob", hook)])
    assert not result.ok
    failure = result.failed[0]
    assert failure.change.kind == "glue_job" and "AccessDeniedException" in failure.error
    skipped = [o for o in result.outcomes if o.status == "skipped"]
    assert any(o.change.kind == "state_machine" for o in skipped), "dependants of the failure must not start"
    assert "fpac-itest-workflow" not in str(local_aws_client("stepfunctions").list_state_machines())

    plan2, result2 = runner.deploy(config)
    assert result2.ok and plan2.has_changes
    assert not any(c.action == "delete" for c in plan2.changes)
    assert not runner.deploy(config)[0].has_changes



def _s3_denied(request, **kwargs):
    """A before-send hook answering an S3 call as AWS does when no policy allows it."""
    body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
    return AWSResponse(request.url, 403, {"Content-Type": "application/xml"}, _Raw(body))


def test_a_smoke_run_whose_upload_is_denied_fails_with_one_line(clean_aws_endpoint, tmp_path):
    """The credential lacks the run policy: boto3's upload wraps AWS's AccessDenied in its own error, which must read
    as one line too, not a traceback."""
    from deploy.common.aws_common import AwsClients, AwsTarget
    from deploy.common.context import RunTarget
    from deploy.common.errors import DeployerError
    from deploy.common.pipeline_run import run_pipeline

    clients = AwsClients(AwsTarget(region="us-east-2", endpoint_url=clean_aws_endpoint, local=True),
                         event_hooks=[("before-send.s3.PutObject", _s3_denied)])
    sample = tmp_path / "x.csv"
    sample.write_text("a,b\n1,2\n")
    target = RunTarget(bucket="acme-fpac-local-data", incoming_prefix="incoming/",
                       state_machine_arn="arn:aws:states:us-east-2:123456789012:stateMachine:fpac-itest-workflow")
    with pytest.raises(DeployerError) as err:
        run_pipeline(clients, target, sample, lambda event: None, start_timeout=1)
    message = str(err.value)
    assert message.startswith("run of s3://acme-fpac-local-data/incoming/") and "(AccessDenied)" in message
    assert "\n" not in message
