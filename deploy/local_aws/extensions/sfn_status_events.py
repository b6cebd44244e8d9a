"""Step Functions "Execution Status Change" events on EventBridge, as AWS sends them.

moto 5.2.1's interpreter runs executions but tells EventBridge nothing, so a rule on `source: aws.states` (e.g. the
failure notification) never fires. AWS sends one event when a Standard workflow's execution starts (RUNNING) and one
when it ends (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) to the default bus of the machine's account and region; Express
workflows send none. The detail holds what DescribeExecution shows, dates in epoch milliseconds:
https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
"""

from __future__ import annotations

import json
import logging
from typing import Any

from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

from deploy.local_aws.extensions.patching import wrap_method

LOG = logging.getLogger("local_aws.sfn_events")
DETAIL_TYPE = "Step Functions Execution Status Change"


def _millis(value: Any) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def status_detail(execution: Execution, status: str | None = None) -> dict[str, Any]:
    """The event's detail: DescribeExecution's fields (output only once succeeded; error and cause when failed)."""
    status = status or execution.exec_status.value
    succeeded = status == "SUCCEEDED"
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": None if status == "RUNNING" else _millis(execution.stop_date),
        "input": _json_text(execution.input_data),
        "output": _json_text(execution.output) if succeeded else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if succeeded else None,
        "error": execution.error,
        "cause": execution.cause,
    }


def send_status_change(execution: Execution, status: str | None = None) -> None:
    """PutEvents on the default bus of the execution's account and region; a failure is logged, as delivery is
    best effort on AWS too."""
    if str(getattr(execution.sm_type, "value", execution.sm_type)) != "STANDARD":
        return
    from moto.events.models import events_backends

    try:
        backend = events_backends[execution.account_id][execution.region_name]
        backend.put_events([{"Source": "aws.states", "DetailType": DETAIL_TYPE, "Resources": [execution.exec_arn],
                             "Detail": json.dumps(status_detail(execution, status))}])
    except Exception as exc:  # noqa: BLE001 - the execution itself must not fail because an event could not be sent
        LOG.warning("Step Functions status event for %s not sent: %s", execution.exec_arn, exc)


def _start(original: Any, self: Execution) -> None:
    send_status_change(self, "RUNNING")  # first: a short execution may end before start() returns
    original(self)


def _terminated(original: Any, self: BaseExecutionWorkerCommunication) -> None:
    original(self)
    send_status_change(self.execution)


def apply() -> None:
    wrap_method(Execution, "start")(_start)
    wrap_method(BaseExecutionWorkerCommunication, "terminated")(_terminated)
