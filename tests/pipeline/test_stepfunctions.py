"""The fpac state machine: statelint, structure, and every path walked with the real handlers' data."""
from __future__ import annotations

import io
import json

import pytest
from statelint.linter import Linter

import asl_paths
import cleaning_job
import final_job
import landing_job
from deploy.projects.fpac_pipeline import fpac_stepfunctions as sf
from fpac_test_support import GOOD_CSV, SAMPLE_EVENT, FakeContext, load_handler

validate = load_handler("Validate")
create = load_handler("CreateNewId")
log_results = load_handler("LogResults")

ARN = "arn:aws:lambda:us-east-2:123456789012:function:{}:live"
REFS = sf.WorkflowRefs(
    validate_function_arn=ARN.format("fpac-dev-validate"),
    create_id_function_arn=ARN.format("fpac-dev-createnewid"),
    log_results_function_arn=ARN.format("fpac-dev-logresults"),
    landing_job_name="fpac-dev-landing",
    cleaning_job_name="fpac-dev-cleaning",
    final_job_name="fpac-dev-final",
    crawler_name="fpac-dev-final-crawler",
    validate_timeout_seconds=120,
    create_id_timeout_seconds=60,
    log_results_timeout_seconds=60,
    landing_job_timeout_minutes=60,
    cleaning_job_timeout_minutes=90,
    final_job_timeout_minutes=60,
)
DEFINITION = sf.build_definition(REFS)
STATES = DEFINITION["States"]
TASKS = {name: s for name, s in STATES.items() if s["Type"] == "Task"}
CONTEXT = {"Execution": {"Id": "arn:aws:states:us-east-2:123456789012:execution:fpac-dev-workflow:e1", "Name": "e1",
                         "StartTime": "2025-01-25T21:31:00.000Z"}}
JOBS = {sf.LANDING: landing_job, sf.CLEANING: cleaning_job, sf.FINAL: final_job}


def eventbridge_event(key=None):
    """The shipped sample event (bucket acme-fpac-local-data), optionally for another key."""
    event = json.loads(SAMPLE_EVENT.read_text())
    if key:
        event["detail"]["object"]["key"] = key
    return event


# ---- lint and structure --------------------------------------------------------------------

def test_statelint_finds_no_problems():
    assert Linter.validate(json.loads(json.dumps(DEFINITION))) == []


def test_statelint_would_catch_a_broken_definition():
    broken = json.loads(json.dumps(DEFINITION))
    del broken["States"][sf.LOG_FAILURE]
    assert any("LogFailure" in problem for problem in Linter.validate(broken))


def test_every_task_has_timeout_retry_and_catch_all():
    assert set(TASKS) == {*sf.STAGES, sf.LOG_FAILURE}
    for name, task in TASKS.items():
        assert isinstance(task["TimeoutSeconds"], int) and task["TimeoutSeconds"] > 0, name
        assert task["Retry"], name
        assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"], name
        for retrier in task["Retry"]:
            assert retrier["MaxAttempts"] >= 1 and retrier["BackoffRate"] > 1, name
            assert "States.ALL" not in retrier["ErrorEquals"], name  # never blanket-retry real failures


def test_lambda_tasks_invoke_the_alias_arns_and_retry_service_errors():
    lambdas = {n: t for n, t in TASKS.items() if t["Resource"] == "arn:aws:states:::lambda:invoke"}
    assert {t["Parameters"]["FunctionName"] for t in lambdas.values()} == {
        REFS.validate_function_arn, REFS.create_id_function_arn, REFS.log_results_function_arn}
    for name, task in lambdas.items():
        assert set(task["Retry"][0]["ErrorEquals"]) == set(sf.LAMBDA_TRANSIENT_ERRORS), name
        assert "ResultSelector" in task, name  # keep the Lambda response envelope out of the state
    # Each waits 30 s past its own function's timeout, so Lambda's own timeout error comes first.
    own = {sf.VALIDATE: 120, sf.CREATE_NEW_ID: 60, sf.LOG_SUCCESS: 60, sf.LOG_FAILURE: 60}
    assert {n: t["TimeoutSeconds"] for n, t in lambdas.items()} == {n: s + sf.LAMBDA_TASK_MARGIN_SECONDS for n, s in own.items()}


def test_glue_tasks_wait_for_the_run_and_pass_every_argument_the_job_needs():
    for name, module in JOBS.items():
        task = TASKS[name]
        assert task["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
        assert "Glue.ConcurrentRunsExceededException" in task["Retry"][0]["ErrorEquals"]
        passed = {key.removeprefix("--").removesuffix(".$") for key in task["Parameters"]["Arguments"]}
        assert passed == set(module.REQUIRED_ARGS), name
    assert [TASKS[n]["Parameters"]["JobName"] for n in JOBS] == ["fpac-dev-landing", "fpac-dev-cleaning", "fpac-dev-final"]
    # Each Glue task waits 300 s past its own job's timeout, so the job's own TIMEOUT fires first.
    assert [TASKS[n]["TimeoutSeconds"] for n in JOBS] == [60 * 60 + 300, 90 * 60 + 300, 60 * 60 + 300]


def test_crawler_task():
    task = TASKS[sf.START_CRAWLER]
    assert task["Resource"] == "arn:aws:states:::aws-sdk:glue:startCrawler"
    assert task["Parameters"] == {"Name": "fpac-dev-final-crawler"}
    assert task["ResultPath"] is None
    assert "Glue.CrawlerRunningException" in task["Retry"][0]["ErrorEquals"]


def _targets(state):
    targets = [state.get("Next"), state.get("Default")]
    targets += [c["Next"] for c in state.get("Choices", [])] + [c["Next"] for c in state.get("Catch", [])]
    return [t for t in targets if t]


def test_every_state_is_reachable_and_every_transition_exists():
    seen, todo = set(), [DEFINITION["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for target in _targets(STATES[name]):
            assert target in STATES, f"{name} -> {target}"
            todo.append(target)
    assert seen == set(STATES)


def test_each_catch_records_its_stage_then_fails():
    for name, task in TASKS.items():
        handler_state = STATES[task["Catch"][0]["Next"]]
        if name == sf.LOG_FAILURE:
            assert handler_state["Type"] == "Fail"
            continue
        assert handler_state["Type"] == "Pass" and handler_state["Next"] == sf.LOG_FAILURE
        assert handler_state["Parameters"]["stage"] == sf.STAGES[name]
    assert STATES[sf.LOG_FAILURE]["Next"] == sf.RUN_FAILED and STATES[sf.RUN_FAILED]["Type"] == "Fail"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"validate_function_arn": "fpac-dev-validate"}, "validate_function_arn"),
        ({"crawler_name": " "}, "crawler_name"),
        ({"partition": "aws-us-gov"}, "partition"),  # the functions' ARNs are in another partition
        ({"cleaning_job_timeout_minutes": 0}, "cleaning_job_timeout_minutes"),
        ({"validate_timeout_seconds": True}, "validate_timeout_seconds"),
        ({"log_results_timeout_seconds": None}, "log_results_timeout_seconds"),
        ({"execution_timeout_seconds": -1}, "execution_timeout_seconds"),
    ],
)
def test_refs_are_checked(change, field):
    values = {**REFS.__dict__, **change}
    with pytest.raises(ValueError, match=field):
        sf.WorkflowRefs(**values)


def test_timeouts_follow_the_refs():
    refs = sf.WorkflowRefs(**{**REFS.__dict__, "validate_timeout_seconds": 5, "cleaning_job_timeout_minutes": 180})
    definition = sf.build_definition(refs)
    timeouts = {name: state["TimeoutSeconds"] for name, state in definition["States"].items() if state["Type"] == "Task"}
    assert timeouts == {
        sf.VALIDATE: 5 + 30, sf.CREATE_NEW_ID: 60 + 30, sf.LOG_SUCCESS: 60 + 30, sf.LOG_FAILURE: 60 + 30,
        sf.LANDING: 3600 + 300, sf.CLEANING: 180 * 60 + 300, sf.FINAL: 3600 + 300, sf.START_CRAWLER: 60}
    # The execution's backstop: every task once (the longest path runs them all) plus an hour.
    assert definition["TimeoutSeconds"] == sum(timeouts.values()) + 3600
    assert sf.build_definition(sf.WorkflowRefs(**{**REFS.__dict__, "execution_timeout_seconds": 7200}))["TimeoutSeconds"] == 7200


# ---- paths walked with real data -----------------------------------------------------------

class FakeS3:
    """Just enough of an S3 client for validate(): one object."""

    def __init__(self, body: bytes):
        self.body = body

    def head_object(self, Bucket, Key):
        return {"ContentLength": len(self.body), "ETag": '"abc"', "ContentType": "text/csv"}

    def get_object(self, Bucket, Key, Range):
        start, end = (int(x) for x in Range.removeprefix("bytes=").split("-"))
        return {"Body": io.BytesIO(self.body[start:end + 1])}


def run_lambda(state, data, handler_result_fn):
    """Render a Lambda task's payload, let the handler produce its result, shape the output."""
    request = asl_paths.task_input(state, data, CONTEXT)
    payload = request["Payload"]
    result = handler_result_fn(json.loads(json.dumps(payload)))
    return asl_paths.task_output(state, data, {"Payload": json.loads(json.dumps(result)), "StatusCode": 200}, CONTEXT)


def run_glue(state, data, job_module, seen_arguments):
    arguments = asl_paths.task_input(state, data, CONTEXT)["Arguments"]
    job_module.glue_runtime.resolve_args(["job.py", *[x for kv in arguments.items() for x in kv]], job_module.REQUIRED_ARGS)
    seen_arguments[state["Parameters"]["JobName"]] = arguments
    job_run = {"Id": f"jr_{state['Parameters']['JobName']}", "JobRunState": "SUCCEEDED", "JobName": state["Parameters"]["JobName"]}
    return asl_paths.task_output(state, data, job_run, CONTEXT)


def choose(choice_state, data):
    for rule in choice_state["Choices"]:
        if asl_paths.resolve(rule["Variable"], data, CONTEXT) is rule["BooleanEquals"]:
            return rule["Next"]
    return choice_state["Default"]


def fake_log_results(payload):
    """LogResults' pure part on the payload the state machine sends; the write is not needed here."""
    log_results.check_event(payload)
    run_id, run_date = log_results.run_identity(payload, "fallback", log_results.datetime.now(log_results.timezone.utc))
    record = log_results.build_record(payload, {}, [], run_id, run_date, log_results.datetime.now(log_results.timezone.utc))
    fake_log_results.records.append(record)
    return {"result_path": f"s3://b/results/{run_id}.json", "status": record["status"], "run_id": run_id, "failed_stage": record["failed_stage"]}


@pytest.fixture
def workflow(monkeypatch):
    monkeypatch.setenv("DATA_BUCKET", "fpac-dev-data")
    fake_log_results.records = []
    settings = validate.Settings.from_env({})

    def walk(event, body, fail_at=()):
        """Follow the definition from StartAt; tasks named in ``fail_at`` raise. Returns (end state, data, glue args)."""
        fail_at = {fail_at} if isinstance(fail_at, str) else set(fail_at)
        data, name, glue_args = event, DEFINITION["StartAt"], {}
        while True:
            state = STATES[name]
            if state["Type"] == "Task" and name in fail_at:
                catch = state["Catch"][0]
                error = {"Error": "States.TaskFailed", "Cause": json.dumps({"errorMessage": f"{name} broke", "errorType": "RuntimeError"})}
                data, name = asl_paths.apply_result_path(data, error, catch["ResultPath"]), catch["Next"]
                continue
            if name == sf.VALIDATE:
                data = run_lambda(state, data, lambda p: validate.validate(p, settings, FakeS3(body)))
            elif name == sf.CREATE_NEW_ID:
                data = run_lambda(state, data, lambda p: create.handler(p, FakeContext()))
            elif name in JOBS:
                data = run_glue(state, data, JOBS[name], glue_args)
            elif name == sf.START_CRAWLER:
                data = asl_paths.task_output(state, data, {}, CONTEXT)
            elif name in (sf.LOG_SUCCESS, sf.LOG_FAILURE):
                data = run_lambda(state, data, fake_log_results)
            elif state["Type"] == "Choice":
                name = choose(state, data)
                continue
            elif state["Type"] == "Pass":
                data = asl_paths.render(state["Parameters"], data, CONTEXT)
            elif state["Type"] in ("Succeed", "Fail"):
                if "CausePath" in state:
                    data = {**data, "_cause": asl_paths.resolve(state["CausePath"], data, CONTEXT)}
                return name, data, glue_args
            name = state["Next"]

    return walk


def test_success_path(workflow):
    end, output, glue_args = workflow(eventbridge_event(), GOOD_CSV.read_bytes())
    assert end == sf.RUN_SUCCEEDED
    record = fake_log_results.records[-1]
    assert record["status"] == "SUCCEEDED"
    run_id = record["run_id"]
    assert output["status"] == "SUCCEEDED" and output["run_id"] == run_id
    assert record["jobs"] == {stage: {"job_run_id": f"jr_fpac-dev-{stage}", "state": "SUCCEEDED"} for stage in ("landing", "cleaning", "final")}
    assert record["source"]["path"] == "s3://acme-fpac-local-data/incoming/fpac_payments_good.csv"
    assert record["execution"]["name"] == "e1"
    landing = glue_args["fpac-dev-landing"]
    assert landing["--source_path"] == "s3://acme-fpac-local-data/incoming/fpac_payments_good.csv"
    assert landing["--metrics_path"] == f"s3://fpac-dev-data/metrics/run_id={run_id}/landing.json"
    assert glue_args["fpac-dev-cleaning"]["--quarantine_path"] == "s3://fpac-dev-data/quarantine"
    assert glue_args["fpac-dev-final"]["--run_id"] == run_id


def test_invalid_file_path(workflow):
    end, output, glue_args = workflow(eventbridge_event(key="incoming/bad.csv"), b"id;state;amount\n1;IA;3\n")
    assert end == sf.RUN_FAILED
    assert glue_args == {}
    record = fake_log_results.records[-1]
    assert (record["status"], record["failed_stage"], record["run_id"]) == ("FAILED", "validate", "e1")
    assert "lacks required columns" in record["validation_reasons"][0]
    assert output["_cause"] == f"fpac run e1 failed at stage validate; run record: {output['result_path']}"


def test_malformed_execution_input_is_recorded_as_a_rejected_file(workflow):
    end, _output, _ = workflow({"detail": {"bucket": {}}}, b"")
    assert end == sf.RUN_FAILED
    record = fake_log_results.records[-1]
    assert record["failed_stage"] == "validate"
    assert "no bucket name" in record["validation_reasons"][0]


@pytest.mark.parametrize("task", list(sf.STAGES))
def test_a_failing_task_is_recorded_with_its_stage_and_error(workflow, task):
    end, output, _ = workflow(eventbridge_event(), GOOD_CSV.read_bytes(), fail_at=task)
    assert end == sf.RUN_FAILED
    record = fake_log_results.records[-1]
    assert record["failed_stage"] == sf.STAGES[task]
    assert record["error"] == {"error": "States.TaskFailed", "message": f"{task} broke"}
    ran_create_id = list(sf.STAGES).index(task) > list(sf.STAGES).index(sf.CREATE_NEW_ID)
    assert (record["outputs"] is not None) == ran_create_id  # the run's paths are recorded once they exist
    assert sf.STAGES[task] in output["_cause"]


def test_when_recording_the_failure_fails_too_the_run_ends_in_its_own_fail_state(workflow):
    end, _output, _ = workflow(eventbridge_event(), GOOD_CSV.read_bytes(), fail_at={sf.LANDING, sf.LOG_FAILURE})
    assert end == sf.RECORDING_FAILED
    assert fake_log_results.records == []
