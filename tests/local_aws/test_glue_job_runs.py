"""Glue StartJobRun runs the deployed script (here without Spark, to stay fast) and Step Functions .sync waits for it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .support import create_bucket, create_role, wait_for_job_run, wait_until

RECORDING_SCRIPT = '''
import json, sys
import boto3
from helpers import shout

print("job output line")
boto3.client("s3").put_object(Bucket="artifacts", Key="result.json",
                              Body=json.dumps({"argv": sys.argv[1:], "helper": shout("hi")}).encode())
'''


@pytest.fixture
def aws(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> dict[str, Any]:
    clients = {name: local_aws_client(name) for name in ("glue", "s3", "iam", "stepfunctions", "logs")}
    create_bucket(clients["s3"], "artifacts")
    clients["role"] = create_role(clients["iam"])
    return clients


def _job(aws: dict[str, Any], name: str, script: str, **extra: Any) -> None:
    aws["s3"].put_object(Bucket="artifacts", Key=f"scripts/{name}.py", Body=script.encode())
    aws["glue"].create_job(Name=name, Role=aws["role"], GlueVersion="4.0",
                           Command={"Name": "pythonshell", "ScriptLocation": f"s3://artifacts/scripts/{name}.py"},
                           **extra)


def test_run_executes_script_with_merged_arguments(aws: dict[str, Any]) -> None:
    aws["s3"].put_object(Bucket="artifacts", Key="lib/helpers.py", Body=b"def shout(s):\n    return s.upper()\n")
    _job(aws, "rec", RECORDING_SCRIPT, DefaultArguments={
        "--extra-py-files": "s3://artifacts/lib/helpers.py", "--keep": "default", "--override": "default"})

    run_id = aws["glue"].start_job_run(JobName="rec", Arguments={"--override": "run"})["JobRunId"]
    assert aws["glue"].get_job_run(JobName="rec", RunId=run_id)["JobRun"]["JobRunState"] == "RUNNING"
    run = wait_for_job_run(aws["glue"], "rec", run_id, timeout=60)

    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert run["GlueVersion"] == "4.0" and "ErrorMessage" not in run
    recorded = json.loads(aws["s3"].get_object(Bucket="artifacts", Key="result.json")["Body"].read())
    argv = recorded["argv"]
    assert argv[:4] == ["--JOB_NAME", "rec", "--JOB_RUN_ID", run_id]
    pairs = dict(zip(argv[4::2], argv[5::2]))
    assert pairs["--keep"] == "default" and pairs["--override"] == "run"
    assert recorded["helper"] == "HI"
    events = aws["logs"].get_log_events(logGroupName="/aws-glue/jobs/output", logStreamName=run_id)["events"]
    assert any(e["message"] == "job output line" for e in events)


def test_failed_script_reports_its_error(aws: dict[str, Any]) -> None:
    _job(aws, "bad", "raise ValueError('bad row 7')\n")
    run_id = aws["glue"].start_job_run(JobName="bad")["JobRunId"]
    run = wait_for_job_run(aws["glue"], "bad", run_id, timeout=60)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: bad row 7"


def test_missing_script_fails_the_run_naming_the_location(aws: dict[str, Any]) -> None:
    aws["glue"].create_job(Name="ghost", Role=aws["role"],
                           Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/nowhere.py"})
    run_id = aws["glue"].start_job_run(JobName="ghost")["JobRunId"]
    run = wait_for_job_run(aws["glue"], "ghost", run_id, timeout=30)
    assert run["JobRunState"] == "FAILED"
    assert "Command.ScriptLocation s3://artifacts/nowhere.py" in run["ErrorMessage"]


def test_step_functions_glue_sync_waits_and_fails_with_task_failed(aws: dict[str, Any]) -> None:
    _job(aws, "good", "print('fine')\n")
    _job(aws, "bad", "raise RuntimeError('broken transform')\n")
    definition = {"StartAt": "Good", "States": {
        "Good": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                 "Parameters": {"JobName": "good"}, "ResultPath": "$.good", "Next": "Bad"},
        "Bad": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": {"JobName": "bad"},
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.caught", "Next": "Done"}],
                "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    sfn = aws["stepfunctions"]
    machine = sfn.create_state_machine(name="glue-sync", definition=json.dumps(definition),
                                       roleArn=aws["role"])["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    done = wait_until(lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
                      timeout=60, what="execution end")

    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["good"]["JobRunState"] == "SUCCEEDED" and output["good"]["JobName"] == "good"
    assert output["caught"]["Error"] == "States.TaskFailed"
    cause = json.loads(output["caught"]["Cause"])
    assert cause["JobRunState"] == "FAILED" and cause["ErrorMessage"] == "RuntimeError: broken transform"
