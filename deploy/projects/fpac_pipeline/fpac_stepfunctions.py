"""The fpac workflow as Amazon States Language, built from plain Python data (no AWS calls).

    Validate ─► valid? ─no─► ValidationRejected ─► LogFailure ─► RunFailed (Fail)
                  │yes
                  ▼
    CreateNewId ─► Landing ─► Cleaning ─► Final ─► StartCrawler ─► LogSuccess ─► RunSucceeded
         (any task error ─► <Task>Failed ─► LogFailure ─► RunFailed)

Execution input: the EventBridge S3 "Object Created" event. Validate receives it whole and reads
detail.bucket.name / detail.object.key itself, so a malformed event is reported as an invalid file
instead of failing the execution on a JSONPath error.

State between steps (kept small with ResultSelector):
  $.validation   Validate's summary       $.run          CreateNewId's output
  $.landing_job / $.cleaning_job / $.final_job   {"job_run_id", "state"} of each Glue run
  $.error        the caught error ({"Error", "Cause"}) on a failure path
"""
from dataclasses import dataclass

from deploy.common.workflow_tasks import (  # noqa: F401  (re-exported: the retry policies are part of this workflow's contract)
    CRAWLER_API_RETRY, CRAWLER_BUSY_ERRORS, CRAWLER_BUSY_RETRY, GLUE_RETRY, GLUE_START_CRAWLER, GLUE_START_JOB_RUN_SYNC,
    GLUE_TASK_MARGIN_SECONDS, GLUE_TRANSIENT_ERRORS, LAMBDA_INVOKE, LAMBDA_RETRY, LAMBDA_TASK_MARGIN_SECONDS,
    LAMBDA_TRANSIENT_ERRORS, catch_all, crawler_task, glue_task, integration_arn, lambda_task,
)

# State names (stable: they appear in execution history, alarms and the run records).
VALIDATE = "Validate"
IS_FILE_VALID = "IsFileValid"
VALIDATION_REJECTED = "ValidationRejected"
CREATE_NEW_ID = "CreateNewId"
LANDING = "Landing"
CLEANING = "Cleaning"
FINAL = "Final"
START_CRAWLER = "StartCrawler"
LOG_SUCCESS = "LogSuccess"
LOG_FAILURE = "LogFailure"
RUN_SUCCEEDED = "RunSucceeded"
RUN_FAILED = "RunFailed"
RECORDING_FAILED = "RecordingFailed"

# Stage name reported to LogResults for each task, and the state data available when it fails.
STAGES = {
    VALIDATE: "validate",
    CREATE_NEW_ID: "create_id",
    LANDING: "landing",
    CLEANING: "cleaning",
    FINAL: "final",
    START_CRAWLER: "crawler",
    LOG_SUCCESS: "log_results",
}
_JOB_RESULT_PATHS = {LANDING: "$.landing_job", CLEANING: "$.cleaning_job", FINAL: "$.final_job"}
_EXECUTION = {"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "start_time.$": "$$.Execution.StartTime"}


@dataclass(frozen=True)
class WorkflowRefs:
    """What the definition points at. Lambda ARNs should be alias ARNs (...:function:NAME:live)."""

    validate_function_arn: str
    create_id_function_arn: str
    log_results_function_arn: str
    landing_job_name: str
    cleaning_job_name: str
    final_job_name: str
    crawler_name: str
    # Each function's and each job's own timeout, from the config: every task's TimeoutSeconds follows
    # its own function or job (plus a margin), so the function's or Glue's own timeout fires first.
    validate_timeout_seconds: int
    create_id_timeout_seconds: int
    log_results_timeout_seconds: int
    landing_job_timeout_minutes: int
    cleaning_job_timeout_minutes: int
    final_job_timeout_minutes: int
    api_timeout_seconds: int = 60
    execution_timeout_seconds: int = 0  # 0: derived from the task timeouts
    partition: str = "aws"  # the region's partition: the service integrations' ARNs are in it, and so must the functions be

    def __post_init__(self):
        for name in ("validate_function_arn", "create_id_function_arn", "log_results_function_arn"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.startswith("arn:") or ":function:" not in value:
                raise ValueError(f"WorkflowRefs.{name} must be a Lambda function ARN, got {value!r}")
            if not value.startswith(f"arn:{self.partition}:lambda:"):
                raise ValueError(f"WorkflowRefs.{name} must be in partition {self.partition!r} (WorkflowRefs.partition), got {value!r}")
        for name in ("landing_job_name", "cleaning_job_name", "final_job_name", "crawler_name"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"WorkflowRefs.{name} must be a non-empty name")
        for name in ("validate_timeout_seconds", "create_id_timeout_seconds", "log_results_timeout_seconds",
                     "landing_job_timeout_minutes", "cleaning_job_timeout_minutes", "final_job_timeout_minutes",
                     "api_timeout_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"WorkflowRefs.{name} must be a positive integer, got {value!r}")
        if not isinstance(self.execution_timeout_seconds, int) or self.execution_timeout_seconds < 0:
            raise ValueError(f"WorkflowRefs.execution_timeout_seconds must be >= 0, got {self.execution_timeout_seconds!r}")

    @property
    def task_timeouts(self):
        """TimeoutSeconds of each Task state. A Lambda Task waits LAMBDA_TASK_MARGIN_SECONDS past its
        function's own timeout, a Glue Task GLUE_TASK_MARGIN_SECONDS past its job's own timeout: the
        function's or Glue's own timeout, with its error message, normally comes first."""
        timeouts = {name: seconds + LAMBDA_TASK_MARGIN_SECONDS for name, seconds in self.function_timeouts.items()}
        timeouts.update({name: minutes * 60 + GLUE_TASK_MARGIN_SECONDS for name, minutes in self.job_timeouts.items()})
        return {**timeouts, START_CRAWLER: self.api_timeout_seconds}

    @property
    def function_timeouts(self):
        """Each Lambda task's function's own timeout (seconds)."""
        return {VALIDATE: self.validate_timeout_seconds, CREATE_NEW_ID: self.create_id_timeout_seconds,
                LOG_SUCCESS: self.log_results_timeout_seconds, LOG_FAILURE: self.log_results_timeout_seconds}

    @property
    def job_timeouts(self):
        """Each Glue task's job's own timeout (minutes)."""
        return {LANDING: self.landing_job_timeout_minutes, CLEANING: self.cleaning_job_timeout_minutes,
                FINAL: self.final_job_timeout_minutes}

    @property
    def effective_execution_timeout_seconds(self):
        """The given execution timeout, or a backstop: every task's timeout once (the longest path runs
        them all: LogSuccess failing leads to LogFailure) plus 1 h for retries and queueing."""
        if self.execution_timeout_seconds:
            return self.execution_timeout_seconds
        return sum(self.task_timeouts.values()) + 3600


def _failed_state_name(task_name):
    return f"{task_name}Failed"


def _catch_to_failure(task_name):
    return catch_all(_failed_state_name(task_name))


def _lambda_task(task_name, comment, function_arn, payload, result_selector, result_path, next_state, refs, catch):
    return lambda_task(function_arn, refs.function_timeouts[task_name], refs.partition, next_state, payload=payload,
                       comment=comment, result_selector=result_selector, result_path=result_path, catch=catch)


def _glue_task(comment, job_name, arguments, task_name, next_state, refs):
    return glue_task(job_name, refs.job_timeouts[task_name], refs.partition, next_state, arguments=arguments, comment=comment,
                     result_selector={"job_run_id.$": "$.Id", "state.$": "$.JobRunState"},
                     result_path=_JOB_RESULT_PATHS[task_name], catch=_catch_to_failure(task_name))


def _context_for_failure_of(task_name):
    """Parameters copying the state data that exists when ``task_name`` fails (no dangling paths)."""
    order = [VALIDATE, CREATE_NEW_ID, LANDING, CLEANING, FINAL, START_CRAWLER, LOG_SUCCESS]
    done = order[: order.index(task_name)]
    context = {}
    if VALIDATE in done:
        context["validation.$"] = "$.validation"
    if CREATE_NEW_ID in done:
        context["run.$"] = "$.run"
    jobs = _jobs_parameters([name for name in _JOB_RESULT_PATHS if name in done])
    if jobs:
        context["jobs"] = jobs
    return context


def _jobs_parameters(task_names):
    """{"landing": {"job_run_id.$": "$.landing_job.job_run_id", ...}, ...} for the given Glue tasks."""
    return {
        STAGES[name]: {"job_run_id.$": f"{_JOB_RESULT_PATHS[name]}.job_run_id", "state.$": f"{_JOB_RESULT_PATHS[name]}.state"}
        for name in task_names
    }


def _failure_pass(task_name):
    return {
        "Type": "Pass",
        "Comment": f"Describe the failure of {task_name} for LogResults.",
        "Parameters": {
            "status": "FAILED",
            "stage": STAGES[task_name],
            "error.$": "$.error",
            **_context_for_failure_of(task_name),
            "execution": dict(_EXECUTION),
        },
        "Next": LOG_FAILURE,
    }


def _log_result_selector(failure=False):
    selector = {"result_path.$": "$.Payload.result_path", "status.$": "$.Payload.status", "run_id.$": "$.Payload.run_id"}
    if failure:  # the Fail state's Cause; failed_stage is always set on this path
        selector["message.$"] = (
            "States.Format('fpac run {} failed at stage {}; run record: {}', "
            "$.Payload.run_id, $.Payload.failed_stage, $.Payload.result_path)"
        )
    return selector


def build_definition(refs: WorkflowRefs) -> dict:
    """The state machine definition (ASL) as a dict; json.dumps it for create/update_state_machine."""
    states = {
        VALIDATE: _lambda_task(
            VALIDATE,
            "Check the new object is a CSV of the expected schema (reads only its first bytes).",
            refs.validate_function_arn,
            "$",
            {
                "validation": {
                    "valid.$": "$.Payload.valid",
                    "reasons.$": "$.Payload.reasons",
                    "warnings.$": "$.Payload.warnings",
                    "bucket.$": "$.Payload.bucket",
                    "key.$": "$.Payload.key",
                    "size_bytes.$": "$.Payload.size_bytes",
                }
            },
            "$",
            IS_FILE_VALID,
            refs,
            _catch_to_failure(VALIDATE),
        ),
        IS_FILE_VALID: {
            "Type": "Choice",
            "Comment": "Only a valid file starts a run.",
            "Choices": [{"Variable": "$.validation.valid", "BooleanEquals": True, "Next": CREATE_NEW_ID}],
            "Default": VALIDATION_REJECTED,
        },
        VALIDATION_REJECTED: {
            "Type": "Pass",
            "Comment": "The file failed validation: record why.",
            "Parameters": {
                "status": "FAILED",
                "stage": STAGES[VALIDATE],
                "error": {"Error": "FileRejected", "Cause": "the file failed validation; see reasons"},
                "reasons.$": "$.validation.reasons",
                "validation.$": "$.validation",
                "execution": dict(_EXECUTION),
            },
            "Next": LOG_FAILURE,
        },
        CREATE_NEW_ID: _lambda_task(
            CREATE_NEW_ID,
            "Issue the run id and the S3 paths of every stage.",
            refs.create_id_function_arn,
            {"bucket.$": "$.validation.bucket", "key.$": "$.validation.key"},
            {
                "run_id.$": "$.Payload.run_id",
                "run_date.$": "$.Payload.run_date",
                "source.$": "$.Payload.source",
                "paths.$": "$.Payload.paths",
                "outputs.$": "$.Payload.outputs",
                "metrics.$": "$.Payload.metrics",
            },
            "$.run",
            LANDING,
            refs,
            _catch_to_failure(CREATE_NEW_ID),
        ),
        LANDING: _glue_task(
            "Raw CSV -> landing Parquet (strings + lineage).",
            refs.landing_job_name,
            {
                "--run_id.$": "$.run.run_id",
                "--source_path.$": "$.run.paths.source",
                "--landing_path.$": "$.run.paths.landing",
                "--metrics_path.$": "$.run.metrics.landing",
            },
            LANDING,
            CLEANING,
            refs,
        ),
        CLEANING: _glue_task(
            "Landing -> clean Parquet; rejected rows -> quarantine.",
            refs.cleaning_job_name,
            {
                "--run_id.$": "$.run.run_id",
                "--landing_path.$": "$.run.paths.landing",
                "--clean_path.$": "$.run.paths.clean",
                "--quarantine_path.$": "$.run.paths.quarantine",
                "--metrics_path.$": "$.run.metrics.cleaning",
            },
            CLEANING,
            FINAL,
            refs,
        ),
        FINAL: _glue_task(
            "Clean -> curated aggregates by state, program and fiscal year.",
            refs.final_job_name,
            {
                "--run_id.$": "$.run.run_id",
                "--clean_path.$": "$.run.paths.clean",
                "--final_path.$": "$.run.paths.final",
                "--metrics_path.$": "$.run.metrics.final",
            },
            FINAL,
            START_CRAWLER,
            refs,
        ),
        START_CRAWLER: crawler_task(refs.crawler_name, refs.partition, LOG_SUCCESS, timeout_seconds=refs.api_timeout_seconds,
                                    comment="Catalog the new final partitions (started, not awaited).",
                                    catch=_catch_to_failure(START_CRAWLER)),
        LOG_SUCCESS: _lambda_task(
            LOG_SUCCESS,
            "Record the successful run (row counts from the stage metrics).",
            refs.log_results_function_arn,
            {
                "status": "SUCCEEDED",
                "validation.$": "$.validation",
                "run.$": "$.run",
                "jobs": _jobs_parameters(list(_JOB_RESULT_PATHS)),
                "execution": dict(_EXECUTION),
            },
            _log_result_selector(),
            "$",
            RUN_SUCCEEDED,
            refs,
            _catch_to_failure(LOG_SUCCESS),
        ),
        LOG_FAILURE: _lambda_task(
            LOG_FAILURE,
            "Record the failed run: stage, error and the row counts known so far.",
            refs.log_results_function_arn,
            "$",
            _log_result_selector(failure=True),
            "$",
            RUN_FAILED,
            refs,
            [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": RECORDING_FAILED}],
        ),
        RUN_SUCCEEDED: {"Type": "Succeed", "Comment": "Run recorded as SUCCEEDED."},
        RUN_FAILED: {
            "Type": "Fail",
            "Comment": "Run recorded as FAILED.",
            "Error": "FpacRunFailed",
            "CausePath": "$.message",
        },
        RECORDING_FAILED: {
            "Type": "Fail",
            "Comment": "The run failed and LogResults could not record it.",
            "Error": "FpacRunRecordingFailed",
            "Cause": "The run failed and LogResults could not write the run record; see this execution's history.",
        },
    }
    for task_name in STAGES:
        states[_failed_state_name(task_name)] = _failure_pass(task_name)
    return {
        "Comment": "fpac farm-program payments: validate, land, clean, aggregate, catalog, record.",
        "StartAt": VALIDATE,
        "TimeoutSeconds": refs.effective_execution_timeout_seconds,
        "States": states,
    }
