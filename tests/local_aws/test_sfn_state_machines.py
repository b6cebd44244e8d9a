"""Step Functions fixes: create idempotency, generated execution names, repeated executions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .support import create_role, wait_until


def _pass_machine(result: int) -> str:
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}})


@pytest.fixture
def sfn(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> Any:
    return local_aws_client("stepfunctions")


@pytest.fixture
def role(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> str:
    return create_role(local_aws_client("iam"))


def test_create_twice_is_idempotent_only_for_the_same_definition(sfn: Any, role: str) -> None:
    arn = sfn.create_state_machine(name="m", definition=_pass_machine(1), roleArn=role)["stateMachineArn"]
    reordered = json.dumps({"States": {"P": {"End": True, "Result": 1, "Type": "Pass"}}, "StartAt": "P"})
    assert sfn.create_state_machine(name="m", definition=reordered, roleArn=role)["stateMachineArn"] == arn
    with pytest.raises(ClientError) as err:
        sfn.create_state_machine(name="m", definition=_pass_machine(2), roleArn=role)
    assert err.value.response["Error"]["Code"] == "StateMachineAlreadyExists"

    sfn.update_state_machine(stateMachineArn=arn, definition=_pass_machine(2))
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])["States"]["P"]["Result"] == 2


def test_unnamed_executions_get_distinct_names_and_all_run(sfn: Any, role: str) -> None:
    arn = sfn.create_state_machine(name="m", definition=_pass_machine(5), roleArn=role)["stateMachineArn"]
    executions = [sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"] for _ in range(3)]
    assert len(set(executions)) == 3
    assert not any(e.endswith(":None") for e in executions)
    for execution in executions:
        done = wait_until(lambda e=execution: (d := sfn.describe_execution(executionArn=e))["status"] != "RUNNING"
                          and d, timeout=10, what="execution end")
        assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == 5
