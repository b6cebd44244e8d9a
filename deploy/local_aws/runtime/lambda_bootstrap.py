"""Run one Lambda invocation: `python lambda_bootstrap.py` with the event on stdin.

Environment: _HANDLER ("module.function", module may be a dotted or slash path), LAMBDA_TASK_ROOT
(the extracted code), LOCAL_AWS_RESULT_PATH (where the outcome JSON goes: {"ok": true, "result": ...}
or {"ok": false, "error": {errorMessage, errorType, stackTrace}}), AWS_LAMBDA_FUNCTION_TIMEOUT.
The handler's own stdout/stderr are its logs, as on AWS.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
import uuid
from typing import Any


class HandlerTimeout(Exception):
    pass


class LambdaContext:
    """The attributes and method of the AWS Lambda Python context object that handlers use."""

    def __init__(self, timeout_s: float) -> None:
        self._deadline = time.monotonic() + timeout_s
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("LOCAL_AWS_INVOKED_ARN", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = os.environ.get("LOCAL_AWS_REQUEST_ID") or str(uuid.uuid4())
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_record(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}


def load_handler(spec: str) -> Any:
    """'pkg/mod.func' or 'pkg.mod.func' -> the function; raises _Failure with AWS's Runtime.* error types."""
    module_name, _, func_name = spec.replace("/", ".").rpartition(".")
    if not module_name or not func_name:
        raise _Failure(error_record("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack"))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is reported like AWS does
        raise _Failure(error_record("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"))
    handler = getattr(module, func_name, None)
    if handler is None:
        raise _Failure(error_record("Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'"))
    return handler


class _Failure(Exception):
    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(record["errorMessage"])
        self.record = record


def _on_alarm(signum: int, frame: Any) -> None:
    raise HandlerTimeout()


def run(event: Any, spec: str, timeout_s: float) -> dict[str, Any]:
    try:
        handler = load_handler(spec)
    except _Failure as failure:
        return {"ok": False, "error": failure.record}
    context = LambdaContext(timeout_s)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        result = handler(event, context)
    except HandlerTimeout:
        return {"ok": False, "error": error_record(
            "Sandbox.Timedout", f"{context.aws_request_id} Task timed out after {timeout_s:.2f} seconds")}
    except Exception as exc:  # noqa: BLE001 - the handler's error becomes the function error
        traceback.print_exc()
        frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop this bootstrap's own frame
        stack = [line.rstrip("\n") for line in traceback.format_list(frames)]
        return {"ok": False, "error": error_record(type(exc).__name__, str(exc), stack)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        return {"ok": False, "error": error_record("Runtime.MarshalError", f"Unable to marshal response: {exc}")}
    return {"ok": True, "result": result}


def main() -> int:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[0] = task_root  # instead of this script's folder, like /var/task on AWS
    os.chdir(task_root)
    raw = sys.stdin.read()
    event = json.loads(raw) if raw.strip() else {}
    outcome = run(event, os.environ["_HANDLER"], float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3")))
    sys.stdout.flush()
    sys.stderr.flush()
    with open(os.environ["LOCAL_AWS_RESULT_PATH"], "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
