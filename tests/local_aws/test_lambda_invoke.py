"""Lambda Invoke runs the deployed zip: result, environment, errors, timeout, aliases, logs, Step Functions."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from .support import create_bucket, create_role, make_zip, wait_until

HANDLER = '''
import json, os, time
import boto3

def handler(event, context):
    print("event seen:", json.dumps(event))
    if "fail" in event:
        raise KeyError(event["fail"])
    if "sleep" in event:
        time.sleep(event["sleep"])
    if "mark" in event:
        boto3.client("s3").put_object(Bucket=event["mark"], Key="marker", Body=b"x")
    return {
        "echo": event,
        "stage": os.environ.get("STAGE"),
        "buckets": sorted(b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]),
        "function": context.function_name,
        "version": context.function_version,
        "time_left_ok": 0 < context.get_remaining_time_in_millis() <= 5000,
    }
'''


@pytest.fixture
def clients(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> dict[str, Any]:
    return {name: local_aws_client(name) for name in ("lambda", "iam", "s3", "stepfunctions", "logs")}


@pytest.fixture
def function_arn(clients: dict[str, Any]) -> str:
    config = clients["lambda"].create_function(
        FunctionName="worker", Runtime="python3.11", Role=create_role(clients["iam"]), Handler="pkg/app.handler",
        Code={"ZipFile": make_zip({"pkg/__init__.py": "", "pkg/app.py": HANDLER})},
        Environment={"Variables": {"STAGE": "local-test"}}, Timeout=5,
    )
    return config["FunctionArn"]


def test_invoke_runs_handler_with_env_and_local_endpoint(clients: dict[str, Any], function_arn: str) -> None:
    create_bucket(clients["s3"], "seen-by-handler")
    response = clients["lambda"].invoke(FunctionName="worker", Payload=b'{"n": 1}', LogType="Tail")
    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    assert result == {"echo": {"n": 1}, "stage": "local-test", "buckets": ["seen-by-handler"],
                      "function": "worker", "version": "$LATEST", "time_left_ok": True}
    assert 'event seen: {"n": 1}' in base64.b64decode(response["LogResult"]).decode()
    streams = clients["logs"].describe_log_streams(logGroupName="/aws/lambda/worker")["logStreams"]
    events = clients["logs"].get_log_events(logGroupName="/aws/lambda/worker",
                                            logStreamName=streams[0]["logStreamName"])["events"]
    assert any('event seen: {"n": 1}' in e["message"] for e in events)


def test_handler_exception_is_an_unhandled_function_error(clients: dict[str, Any], function_arn: str) -> None:
    response = clients["lambda"].invoke(FunctionName="worker", Payload=b'{"fail": "missing_key"}')
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'missing_key'"
    assert any("pkg/app.py" in frame for frame in error["stackTrace"])


def test_function_timeout_is_enforced(clients: dict[str, Any], function_arn: str) -> None:
    clients["lambda"].update_function_configuration(FunctionName="worker", Timeout=1)
    started = time.monotonic()
    response = clients["lambda"].invoke(FunctionName="worker", Payload=b'{"sleep": 30}')
    assert time.monotonic() - started < 10
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout" and "timed out after 1.00 seconds" in error["errorMessage"]


def test_alias_arn_runs_the_published_version(clients: dict[str, Any], function_arn: str) -> None:
    lam = clients["lambda"]
    version = lam.publish_version(FunctionName="worker")["Version"]
    lam.create_alias(FunctionName="worker", Name="live", FunctionVersion=version)
    lam.update_function_code(FunctionName="worker",
                             ZipFile=make_zip({"pkg/__init__.py": "", "pkg/app.py": "def handler(e, c):\n    return 'new'\n"}))
    assert json.loads(lam.invoke(FunctionName="worker")["Payload"].read()) == "new"
    via_alias = lam.invoke(FunctionName=f"{function_arn}:live", Payload=b'{"n": 2}')
    assert via_alias["ExecutedVersion"] == version
    assert json.loads(via_alias["Payload"].read())["version"] == version


def test_event_invocation_runs_in_background(clients: dict[str, Any], function_arn: str) -> None:
    create_bucket(clients["s3"], "async-marks")
    response = clients["lambda"].invoke(FunctionName="worker", InvocationType="Event",
                                        Payload=b'{"mark": "async-marks"}')
    assert response["StatusCode"] == 202
    wait_until(lambda: clients["s3"].list_objects_v2(Bucket="async-marks").get("KeyCount"), timeout=15,
               what="marker written by the async invocation")


def test_step_functions_lambda_invoke_payload_and_catch(clients: dict[str, Any], function_arn: str) -> None:
    lam, sfn = clients["lambda"], clients["stepfunctions"]
    lam.create_alias(FunctionName="worker", Name="live", FunctionVersion=lam.publish_version(FunctionName="worker")["Version"])
    alias_arn = f"{function_arn}:live"
    definition = {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": alias_arn, "Payload.$": "$"},
                 "ResultSelector": {"stage.$": "$.Payload.stage", "echo.$": "$.Payload.echo"},
                 "ResultPath": "$.first", "Next": "Fail"},
        "Fail": {"Type": "Task", "Resource": alias_arn, "Parameters": {"fail": "boom"},
                 "Catch": [{"ErrorEquals": ["KeyError"], "ResultPath": "$.caught", "Next": "Done"}], "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(name="calls-lambda", definition=json.dumps(definition),
                                       roleArn=create_role(clients["iam"], "sfn-role"))["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input='{"k": 1}')["executionArn"]
    done = wait_until(lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
                      timeout=30, what="execution end")
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["first"] == {"stage": "local-test", "echo": {"k": 1}}
    assert output["caught"]["Error"] == "KeyError"
    assert json.loads(output["caught"]["Cause"])["errorMessage"] == "'boom'"
