"""S3 -> EventBridge -> Step Functions: the object-created trigger, and the helpers that follow an execution."""

from __future__ import annotations

import datetime
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from deploy.common.execution_watch import follow_execution, wait_for_execution

from .support import create_bucket, create_role

ECHO = json.dumps({"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}})


@pytest.fixture
def trigger(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> dict[str, Any]:
    s3, events, sfn = (local_aws_client(n) for n in ("s3", "events", "stepfunctions"))
    role = create_role(local_aws_client("iam"))
    create_bucket(s3, "landing")
    s3.put_bucket_notification_configuration(Bucket="landing",
                                             NotificationConfiguration={"EventBridgeConfiguration": {}})
    machine = sfn.create_state_machine(name="echo", definition=ECHO, roleArn=role)["stateMachineArn"]
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"],
               "detail": {"bucket": {"name": ["landing"]}, "object": {"key": [{"prefix": "incoming/"}]}}}
    events.put_rule(Name="on-upload", EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule="on-upload", Targets=[{"Id": "pipeline", "Arn": machine, "RoleArn": role}])
    return {"s3": s3, "events": events, "sfn": sfn, "machine": machine}


def test_notification_configuration_reads_back(trigger: dict[str, Any]) -> None:
    config = trigger["s3"].get_bucket_notification_configuration(Bucket="landing")
    assert config.get("EventBridgeConfiguration") == {}


def test_upload_under_prefix_starts_execution_with_the_s3_event(trigger: dict[str, Any]) -> None:
    sfn = trigger["sfn"]
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    trigger["s3"].put_object(Bucket="landing", Key="incoming/day1.csv", Body=b"a,b\n")

    execution = wait_for_execution(sfn, trigger["machine"], started_after=before, timeout=10)
    seen: list[str] = []
    final = follow_execution(sfn, execution, lambda e: seen.append(e["type"]), timeout=20)

    assert final["status"] == "SUCCEEDED"
    assert seen == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
    event = json.loads(final["input"])
    assert event["source"] == "aws.s3" and event["detail-type"] == "Object Created"
    assert event["detail"]["bucket"]["name"] == "landing"
    assert event["detail"]["object"]["key"] == "incoming/day1.csv" and event["detail"]["object"]["size"] == 4
    assert event["resources"] == ["arn:aws:s3:::landing"] and event["region"] == "us-east-2"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])


def test_each_upload_is_a_new_event(trigger: dict[str, Any]) -> None:
    for key in ("incoming/a.csv", "incoming/b.csv"):
        trigger["s3"].put_object(Bucket="landing", Key=key, Body=b"x")
    executions = trigger["sfn"].list_executions(stateMachineArn=trigger["machine"])["executions"]
    assert len(executions) == 2
    ids = {json.loads(trigger["sfn"].describe_execution(executionArn=e["executionArn"])["input"])["id"]
           for e in executions}
    assert len(ids) == 2


def test_other_prefix_or_disabled_rule_starts_nothing(trigger: dict[str, Any]) -> None:
    trigger["s3"].put_object(Bucket="landing", Key="archive/day1.csv", Body=b"x")
    trigger["events"].disable_rule(Name="on-upload")
    trigger["s3"].put_object(Bucket="landing", Key="incoming/day2.csv", Body=b"x")
    time.sleep(0.3)
    assert trigger["sfn"].list_executions(stateMachineArn=trigger["machine"])["executions"] == []
    with pytest.raises(TimeoutError, match="no execution of .*echo started after"):
        wait_for_execution(trigger["sfn"], trigger["machine"], started_after=time.time() - 5, timeout=0.5,
                           poll_interval=0.1)


def test_a_multipart_upload_is_one_event(trigger: dict[str, Any]) -> None:
    """boto3 uploads files over 8 MB in parts; AWS sends one Object Created event when they are put together."""
    s3 = trigger["s3"]
    upload = s3.create_multipart_upload(Bucket="landing", Key="incoming/big.csv")["UploadId"]
    part = s3.upload_part(Bucket="landing", Key="incoming/big.csv", UploadId=upload, PartNumber=1, Body=b"a,b\n1,2\n")
    s3.complete_multipart_upload(Bucket="landing", Key="incoming/big.csv", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    executions = trigger["sfn"].list_executions(stateMachineArn=trigger["machine"])["executions"]
    assert len(executions) == 1
    event = json.loads(trigger["sfn"].describe_execution(executionArn=executions[0]["executionArn"])["input"])
    assert event["detail"]["object"]["key"] == "incoming/big.csv" and event["detail"]["object"]["size"] == 8
