"""Step Functions `arn:aws:states:::glue:startJobRun.sync`.

moto 5.2.1's interpreter ends every .sync task with `callback_endpoint.interrupt_all()`, but Glue does
not support .waitForTaskToken, so the endpoint is None and the task dies with
"'NoneType' object has no attribute 'interrupt_all'". We give the Glue service its own integration
step: start the run (done before this by moto), then poll GetJobRun until it ends, using moto's own
sync resolver (a FAILED/TIMEOUT/ERROR run raises States.TaskFailed with the job run as the cause).
Between polls it waits for a local run to end (glue_job_runs.wait_for_run_end), at most moto's 0.5 s,
so the task moves on as soon as its run ends.
The GetJobRun result becomes the task output with its timestamps as epoch milliseconds, as AWS
gives them (moto would keep datetime objects, and DescribeExecution then fails with HTTP 500).
"""

from __future__ import annotations

import datetime
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    _DELAY_SECONDS_SYNC_CONDITION_CHECK,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue import (
    StateTaskServiceGlue,
)

from deploy.local_aws.extensions.glue_job_runs import runs_ended, wait_for_run_end


def json_safe(value: Any) -> Any:
    """Datetimes (from boto3's parsed GetJobRun) -> epoch milliseconds, recursively."""
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def _eval_integration_pattern(
    self: StateTaskServiceGlue,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict,
    state_credentials: Any,
) -> None:
    if self.resource.condition != ResourceCondition.Sync:
        raise RuntimeError(f"Unsupported {self.resource.condition} callback procedure in resource "
                           f"{self.resource.resource_arn}")
    # Keep the evaluation stack as moto's version leaves it: the task's timeout is evaluated and
    # popped (the state's own timeout machinery enforces it), the start output stays for the resolver.
    start_output = env.stack.pop()
    self.timeout.eval(env=env)
    env.stack.pop()
    env.stack.append(start_output)
    resolver = self._build_sync_resolver(
        env=env,
        resource_runtime_part=resource_runtime_part,
        normalised_parameters=normalised_parameters,
        state_credentials=state_credentials,
    )
    outcome = None
    while env.is_running():
        seen = runs_ended()
        outcome = resolver()
        if outcome:
            break
        wait_for_run_end(seen, _DELAY_SECONDS_SYNC_CONDITION_CHECK)
    env.stack.append(json_safe(outcome))


def apply() -> None:
    StateTaskServiceGlue._eval_integration_pattern = _eval_integration_pattern  # type: ignore[method-assign]
