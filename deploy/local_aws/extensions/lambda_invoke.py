"""Lambda Invoke runs the deployed code.

moto 5.2.1 without Docker echoes the payload back. We extract the function version's zip (cached by
code hash), run its Handler in a separate Python process (runtime/lambda_bootstrap.py, this server's
interpreter, whatever the declared Runtime) with the function's Environment plus AWS_ENDPOINT_URL
for this server and dummy credentials, and enforce the function Timeout. A handler exception is
returned as AWS does: header X-Amz-Function-Error: Unhandled and payload {errorMessage, errorType,
stackTrace}, so Step Functions Retry/Catch match the error type. Output goes to CloudWatch Logs
(/aws/lambda/NAME) and, with LogType=Tail, to the X-Amz-Log-Result header. Qualified names, versions
and aliases resolve through moto. InvocationType=Event runs in the background (HTTP 202).
Not emulated: layers, container images, concurrency limits, memory limits.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import shutil
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend

from deploy.local_aws.extensions.child_env import child_env
from deploy.local_aws.extensions.context import get_context
from deploy.local_aws.extensions.processes import read_outcome, run_tracked

LOG = logging.getLogger("local_aws.lambda")
BOOTSTRAP = Path(__file__).resolve().parent.parent / "runtime" / "lambda_bootstrap.py"
# The child gets this long on top of the function timeout to start Python and report (the handler
# itself is stopped at the function timeout inside the child).
STARTUP_ALLOWANCE_SECONDS = 10.0
LOG_TAIL_BYTES = 4096

_extract_lock = threading.Lock()


def extract_code(code: bytes, code_hash: str, root: Path) -> Path:
    """The zip extracted under root/<hash>/ (once; concurrent callers wait for the first)."""
    target = root / code_hash
    with _extract_lock:
        if target.is_dir():
            return target
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=".extract-"))
        try:
            with zipfile.ZipFile(io.BytesIO(code)) as archive:
                archive.extractall(staging)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def function_error_payload(outcome: dict[str, Any] | None, returncode: int | None, timed_out: bool,
                           request_id: str, timeout_s: float) -> dict[str, Any]:
    """The error record when the child did not report one itself (crash, hard timeout)."""
    if outcome and not outcome.get("ok"):
        return outcome["error"]
    if timed_out:
        return {"errorMessage": f"{request_id} Task timed out after {timeout_s:.2f} seconds",
                "errorType": "Sandbox.Timedout"}
    return {"errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {returncode}",
            "errorType": "Runtime.ExitError"}


def invoke_function(fn: LambdaFunction, body: bytes | str | None, invoked_arn: str) -> tuple[bytes, bool, str]:
    """Run the function once: (payload bytes, errored, log text)."""
    ctx = get_context()
    request_id = str(uuid.uuid4())
    if fn.package_type != "Zip" or not getattr(fn, "code_bytes", b""):
        error = {"errorType": "LocalAws.Unsupported",
                 "errorMessage": f"local AWS runs only zip-packaged functions; {fn.function_name} has "
                                 f"PackageType {fn.package_type} or no code"}
        return json.dumps(error).encode("utf-8"), True, ""
    code_dir = extract_code(fn.code_bytes, fn.code_digest or fn.code_sha_256.replace("/", "_"),
                            ctx.work_dir / "lambda-code")
    timeout_s = float(fn.timeout or 3)
    log_stream = f"{time.strftime('%Y/%m/%d')}/[{fn.version}]{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory(dir=ctx.work_dir, prefix="invoke-") as tmp:
        result_path = Path(tmp) / "result.json"
        env = child_env(
            endpoint=ctx.endpoint,
            region=fn.region,
            user_vars=fn.environment_vars,
            extra={
                "_HANDLER": fn.handler or "",
                "LAMBDA_TASK_ROOT": str(code_dir),
                "LOCAL_AWS_RESULT_PATH": str(result_path),
                "LOCAL_AWS_REQUEST_ID": request_id,
                "LOCAL_AWS_INVOKED_ARN": invoked_arn,
                "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_s),
                "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
                "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            },
        )
        started = time.monotonic()
        proc = run_tracked([sys.executable, str(BOOTSTRAP)], env=env, cwd=code_dir,
                           timeout=timeout_s + STARTUP_ALLOWANCE_SECONDS, stdin=_as_bytes(body))
        duration_ms = (time.monotonic() - started) * 1000
        outcome = read_outcome(result_path)
    output = (proc.stdout + proc.stderr).decode("utf-8", errors="replace")
    logs = (f"START RequestId: {request_id} Version: {fn.version}\n{output}"
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tMemory Size: {fn.memory_size} MB\n")
    if outcome and outcome.get("ok"):
        return json.dumps(outcome["result"]).encode("utf-8"), False, logs
    error = function_error_payload(outcome, proc.returncode, proc.timed_out, request_id, timeout_s)
    LOG.info("Lambda %s failed: %s: %s", fn.function_name, error.get("errorType"), error.get("errorMessage"))
    return json.dumps(error).encode("utf-8"), True, logs


def _as_bytes(body: bytes | str | None) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else body


def _save_logs(fn: LambdaFunction, logs: str) -> None:
    try:
        fn.logs_backend.ensure_log_group(fn.logs_group_name)
        fn.save_logs(logs)
    except Exception as exc:  # noqa: BLE001 - logging must never fail an invocation
        LOG.warning("could not write CloudWatch logs for %s: %s", fn.function_name, exc)


def _invoke(self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any, headers: Any,
            response_headers: dict[str, str]) -> bytes:
    fn = self.get_function(function_name, qualifier)
    invoked_arn = function_name if function_name.startswith("arn:") else fn.function_arn
    invocation_type = headers.get("X-Amz-Invocation-Type") or headers.get("x-amz-invocation-type") or "RequestResponse"
    response_headers["x-amz-executed-version"] = str(fn.version)
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        def background() -> None:
            _, _, logs = invoke_function(fn, body, invoked_arn)
            _save_logs(fn, logs)

        threading.Thread(target=background, name=f"lambda-event-{fn.function_name}", daemon=True).start()
        return b""
    payload, errored, logs = invoke_function(fn, body, invoked_arn)
    _save_logs(fn, logs)
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    response_headers["x-amz-log-result"] = base64.b64encode(logs.encode("utf-8")[-LOG_TAIL_BYTES:]).decode("ascii")
    response_headers["Content-Length"] = str(len(payload))
    return payload


def apply() -> None:
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
