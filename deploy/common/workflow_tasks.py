"""Amazon States Language Task states every pipeline uses, built as plain dicts: invoke a Lambda, run a
Glue job to its end, start a crawler. Each comes with the retries for its service's passing errors
(full jitter), a ``TimeoutSeconds`` derived from the called resource's own timeout, and a catch-all
``Catch`` when given where to go on failure. ``integration_arn`` takes the partition (GovCloud, China).
"""
from __future__ import annotations

from typing import Any

# Step Functions service integrations; a Task's Resource is integration_arn(partition, one of these).
LAMBDA_INVOKE = "lambda:invoke"
GLUE_START_JOB_RUN_SYNC = "glue:startJobRun.sync"
GLUE_START_CRAWLER = "aws-sdk:glue:startCrawler"

# A Lambda Task waits this long past the function's own timeout: the invoke round trip, a cold start's
# init phase (up to 10 s, not counted in the function's timeout) and a short queue.
LAMBDA_TASK_MARGIN_SECONDS = 30
# A Glue Task waits this long past the job's own timeout: job start-up and .sync's polling interval,
# so Glue's own TIMEOUT, with its message, comes first.
GLUE_TASK_MARGIN_SECONDS = 300
CRAWLER_START_TIMEOUT_SECONDS = 60

LAMBDA_TRANSIENT_ERRORS = ("Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                           "Lambda.TooManyRequestsException")
GLUE_TRANSIENT_ERRORS = ("Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException", "Glue.InternalServiceException",
                         "Glue.OperationTimeoutException")
CRAWLER_BUSY_ERRORS = ("Glue.CrawlerRunningException",)


def integration_arn(partition: str, integration: str) -> str:
    """``arn:<partition>:states:::<integration>``: GovCloud and China have their own partitions."""
    return f"arn:{partition}:states:::{integration}"


def retry(errors: tuple[str, ...], interval: int, attempts: int, backoff: float, max_delay: int) -> dict[str, Any]:
    return {"ErrorEquals": list(errors), "IntervalSeconds": interval, "MaxAttempts": attempts, "BackoffRate": backoff,
            "MaxDelaySeconds": max_delay, "JitterStrategy": "FULL"}


LAMBDA_RETRY = retry(LAMBDA_TRANSIENT_ERRORS, interval=2, attempts=6, backoff=2.0, max_delay=60)
GLUE_RETRY = retry(GLUE_TRANSIENT_ERRORS, interval=30, attempts=5, backoff=2.0, max_delay=300)
CRAWLER_BUSY_RETRY = retry(CRAWLER_BUSY_ERRORS, interval=60, attempts=6, backoff=1.5, max_delay=300)
CRAWLER_API_RETRY = retry(GLUE_TRANSIENT_ERRORS[1:], interval=5, attempts=4, backoff=2.0, max_delay=60)


def catch_all(next_state: str, result_path: str = "$.error") -> list[dict[str, Any]]:
    """Any error: keep it at ``result_path`` and go to ``next_state``."""
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": next_state}]


def _task(resource: str, parameters: dict[str, Any], timeout_seconds: int, retries: list[dict[str, Any]], next_state: str | None,
          comment: str, result_selector: dict[str, Any] | None, result_path: str | None, catch: list[dict[str, Any]] | None,
          ) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", **({"Comment": comment} if comment else {}), "Resource": resource,
                             "Parameters": parameters}
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    state["ResultPath"] = result_path  # None (JSON null): the task's result is dropped, its input passes on
    state.update(TimeoutSeconds=timeout_seconds, Retry=retries)
    if catch:
        state["Catch"] = catch
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


def lambda_task(function_arn: str, function_timeout_seconds: int, partition: str, next_state: str | None, *,
                payload: Any = "$", comment: str = "", result_selector: dict[str, Any] | None = None,
                result_path: str | None = "$", catch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Invoke ``function_arn`` (an alias ARN) with ``payload`` (a JSONPath string, or a dict of parameters)."""
    payload_key = "Payload.$" if isinstance(payload, str) else "Payload"
    return _task(integration_arn(partition, LAMBDA_INVOKE), {"FunctionName": function_arn, payload_key: payload},
                 function_timeout_seconds + LAMBDA_TASK_MARGIN_SECONDS, [LAMBDA_RETRY], next_state, comment, result_selector,
                 result_path, catch)


def glue_task(job_name: str, job_timeout_minutes: int, partition: str, next_state: str | None, *, arguments: dict[str, Any],
              comment: str = "", result_selector: dict[str, Any] | None = None, result_path: str | None = "$",
              catch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run ``job_name`` to its end (``.sync``); no run-level timeout, so the job definition's applies."""
    return _task(integration_arn(partition, GLUE_START_JOB_RUN_SYNC), {"JobName": job_name, "Arguments": arguments},
                 job_timeout_minutes * 60 + GLUE_TASK_MARGIN_SECONDS, [GLUE_RETRY], next_state, comment, result_selector,
                 result_path, catch)


def crawler_task(crawler_name: str, partition: str, next_state: str | None, *, comment: str = "",
                 result_path: str | None = None, catch: list[dict[str, Any]] | None = None,
                 timeout_seconds: int = CRAWLER_START_TIMEOUT_SECONDS) -> dict[str, Any]:
    """Start ``crawler_name`` without waiting for it (``result_path`` None: the state's input passes through);
    a crawl already running is retried, with backoff."""
    return _task(integration_arn(partition, GLUE_START_CRAWLER), {"Name": crawler_name}, timeout_seconds,
                 [CRAWLER_BUSY_RETRY, CRAWLER_API_RETRY], next_state, comment, None, result_path, catch)
