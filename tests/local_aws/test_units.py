"""Pure helpers of the local AWS layer (no server)."""

from __future__ import annotations

import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from deploy.local_aws.extensions import events_targets, glue_api, glue_job_runs, sfn_glue_sync
from deploy.local_aws.extensions.lambda_invoke import extract_code, function_error_payload
from deploy.local_aws.extensions.s3_notifications import add_event_bridge_element
from deploy.local_aws.extensions.sfn_state_machines import same_definition
from deploy.common.execution_watch import is_progress_event
from deploy.local_aws.runtime import glue_launcher, s3_staging, spark_settings, spark_worker

from .support import make_zip


@pytest.mark.parametrize(("uri", "expected"), [
    ("s3://b/a/c.csv", ("b", "a/c.csv")),
    ("s3a://b/", ("b", "")),
    ("s3n://b", ("b", "")),
    ("file:///tmp/x", None),
    ("s3://", None),
])
def test_parse_s3_uri(uri: str, expected: tuple[str, str] | None) -> None:
    assert s3_staging.parse_s3_uri(uri) == expected


@pytest.mark.parametrize(("key", "prefix"), [
    ("landing/run_id=1/", "landing/run_id=1"), ("landing/run_id=1", "landing/run_id=1"),
    ("incoming/x.csv", "incoming/x.csv"), ("landing/run_id=*/part-0", "landing"), ("a/b/c?", "a/b"),
    ("*.csv", ""), ("", ""),
])
def test_listing_prefix_of_a_spark_path(key: str, prefix: str) -> None:
    assert s3_staging.listing_prefix(key) == prefix


def test_a_prefix_holds_itself_and_its_folder_only() -> None:
    assert s3_staging.under("clean/run_id=1", "clean/run_id=1")
    assert s3_staging.under("clean/run_id=1/part-0", "clean/run_id=1")
    assert not s3_staging.under("clean/run_id=12/part-0", "clean/run_id=1")
    assert s3_staging.under("anything", "")


@pytest.mark.parametrize(("key", "artifact"), [
    ("out/.part-0.csv.crc", True), ("out/._SUCCESS.crc", True), ("out/_temporary/0/x", True),
    ("out/part-0.csv", False), ("out/_SUCCESS", False), ("out/.hidden", False),
])
def test_local_artifacts_are_not_uploaded(key: str, artifact: bool) -> None:
    assert s3_staging.is_local_artifact(key) is artifact


def test_strings_in_collects_path_arguments() -> None:
    assert spark_worker.strings_in(("s3://b/1", ["s3://b/2", 3], 4), {"path": "s3://c/x", "mode": "overwrite"}) == [
        "s3://b/1", "s3://b/2", "s3://c/x"]


def test_describe_error_is_one_line() -> None:
    assert glue_launcher.describe_error(ValueError("Path does not exist: s3://data/in.\nmore")) == (
        "ValueError: Path does not exist: s3://data/in.")
    assert glue_launcher.describe_error(RuntimeError()) == "RuntimeError"


def test_hadoop_mapping_mounts_each_bucket_for_all_s3_schemes(tmp_path: Path) -> None:
    settings = s3_staging.hadoop_s3_mapping(["data", "art"], tmp_path)
    overload = "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme"
    assert {settings[f"fs.{s}.impl"] for s in ("s3", "s3a", "s3n")} == {overload}
    assert settings["fs.viewfs.mounttable.data.linkFallback"] == (tmp_path / "data").as_uri()
    assert settings["fs.viewfs.mounttable.art.linkFallback"] == (tmp_path / "art").as_uri()
    assert len(settings) == 5


def test_s3_uris_in_arguments() -> None:
    argv = ["--JOB_NAME", "j", "--in", "s3://data/in/", "--lib", "s3a://art/x.py", "--again", "s3://data/in/"]
    assert s3_staging.s3_uris_in(argv) == [("data", "in/"), ("art", "x.py")]


def test_spark_settings_keep_spark_local_and_its_files_in_the_work_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(spark_settings.ENV_DRIVER_MEMORY, raising=False)
    conf = spark_settings.spark_conf(tmp_path)
    assert conf["spark.driver.bindAddress"] == "127.0.0.1" and conf["spark.ui.enabled"] == "false"
    assert conf["spark.driver.memory"] == "2g"
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path.resolve() / "spark-warehouse")
    monkeypatch.setenv(spark_settings.ENV_DRIVER_MEMORY, "4g")
    assert spark_settings.spark_conf(tmp_path)["spark.driver.memory"] == "4g"


def test_script_arguments_put_job_name_first() -> None:
    argv = glue_job_runs.script_arguments("job", "jr_1", {"--a": "1", "b": "2", "--JOB_NAME": "ignored"})
    assert argv == ["--JOB_NAME", "job", "--JOB_RUN_ID", "jr_1", "--a", "1", "--b", "2"]
    assert glue_job_runs.extra_py_files({"--extra-py-files": "s3://b/x.py, s3://b/y.zip,"}) == [
        "s3://b/x.py", "s3://b/y.zip"]


def test_glue_error_message_prefers_the_script_error_then_stderr_tail() -> None:
    assert glue_job_runs.error_message({"ok": False, "error": "E: x"}, b"noise", 1) == "E: x"
    assert glue_job_runs.error_message(None, b"a\n" + b"z" * 3000, 1).endswith("z" * 10)
    assert len(glue_job_runs.error_message(None, b"z" * 3000, 1)) == glue_job_runs.ERROR_TAIL_CHARS
    assert glue_job_runs.error_message(None, b"", 137) == "job process exited with code 137"


def test_update_job_definition_clears_missing_fields() -> None:
    job = SimpleNamespace(default_arguments={"--a": "1"}, timeout=5, command={"Name": "old"}, execution_class="FLEX",
                          last_modified_on=None)
    glue_api.update_job_definition(job, {"Command": {"Name": "new"}, "Timeout": 9})
    assert job.command == {"Name": "new"} and job.timeout == 9
    assert job.default_arguments == {} and job.execution_class == "STANDARD" and job.role is None
    assert job.last_modified_on is not None


def test_normalise_event_gives_unique_id_and_iso_time() -> None:
    raw = {"id": "17793124-05d4-b198-2fde-7ededc63b103", "time": 0.0, "detail": {"k": 1}}
    first, second = events_targets.normalise_event(raw), events_targets.normalise_event(raw)
    assert first["id"] != raw["id"] and first["id"] != second["id"]
    assert first["time"] == "1970-01-01T00:00:00Z" and raw["time"] == 0.0  # input untouched


def test_target_input_variants() -> None:
    event = {"detail": {"bucket": {"name": "b"}}, "time": "t"}
    assert events_targets.target_input({}, event) is event
    assert events_targets.target_input({"Input": '{"fixed": 1}'}, event) == {"fixed": 1}
    assert events_targets.target_input({"InputPath": "$.detail.bucket"}, event) == {"name": "b"}
    transformed = events_targets.target_input(
        {"InputTransformer": {"InputPathsMap": {"b": "$.detail.bucket.name"}, "InputTemplate": '{"bucket": "<b>"}'}},
        event)
    assert transformed == {"bucket": "b"}
    assert events_targets.is_state_machine_target({"Arn": "arn:aws:states:us-east-2:1:stateMachine:x"})
    assert not events_targets.is_state_machine_target({"Arn": "arn:aws:sqs:us-east-2:1:q"})


def test_add_event_bridge_element() -> None:
    body = '<?xml version="1.0"?><NotificationConfiguration xmlns="x"><TopicConfiguration/></NotificationConfiguration>'
    assert add_event_bridge_element(body).endswith("<EventBridgeConfiguration/></NotificationConfiguration>")
    assert add_event_bridge_element(add_event_bridge_element(body)) == add_event_bridge_element(body)
    empty = '<?xml version="1.0"?><NotificationConfiguration xmlns="x"/>'
    assert add_event_bridge_element(empty).endswith(
        '<NotificationConfiguration xmlns="x"><EventBridgeConfiguration/></NotificationConfiguration>')


def test_same_definition_ignores_layout() -> None:
    assert same_definition('{"a": 1, "b": [1, 2]}', '{"b":[1,2],"a":1}')
    assert not same_definition('{"a": 1}', '{"a": 2}')


def test_json_safe_turns_datetimes_into_epoch_millis() -> None:
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    assert sfn_glue_sync.json_safe({"a": [when], "b": "x"}) == {"a": [1704067200000], "b": "x"}


def test_function_error_payload() -> None:
    reported = {"ok": False, "error": {"errorType": "X", "errorMessage": "m"}}
    assert function_error_payload(reported, 0, False, "r", 3) == {"errorType": "X", "errorMessage": "m"}
    assert function_error_payload(None, None, True, "r", 3)["errorType"] == "Sandbox.Timedout"
    crashed = function_error_payload(None, 9, False, "r", 3)
    assert crashed["errorType"] == "Runtime.ExitError" and "exit status 9" in crashed["errorMessage"]


def test_extract_code_once_per_hash(tmp_path: Path) -> None:
    first = extract_code(make_zip({"m.py": "X = 1\n"}), "h1", tmp_path)
    assert (first / "m.py").read_text() == "X = 1\n"
    again = extract_code(make_zip({"other.py": ""}), "h1", tmp_path)  # same hash: cached copy
    assert again == first and not (first / "other.py").exists()


def test_progress_events() -> None:
    kinds = ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskSucceeded", "LambdaFunctionFailed",
             "TaskStateExited", "ExecutionFailed", "ExecutionSucceeded", "MapIterationStarted"]
    assert [k for k in kinds if is_progress_event({"type": k})] == [
        "ExecutionStarted", "TaskStateEntered", "LambdaFunctionFailed", "TaskStateExited", "ExecutionFailed",
        "ExecutionSucceeded"]


def test_lambda_bootstrap_error_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deploy.local_aws.runtime import lambda_bootstrap as boot

    (tmp_path / "mod_ok.py").write_text("def h(e, c):\n    return {'n': e['n'] + 1}\n"
                                        "def bad(e, c):\n    return object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert boot.run({"n": 1}, "mod_ok.h", 3) == {"ok": True, "result": {"n": 2}}
    assert boot.run({}, "mod_ok.bad", 3)["error"]["errorType"] == "Runtime.MarshalError"
    assert boot.run({}, "mod_ok.missing", 3)["error"]["errorType"] == "Runtime.HandlerNotFound"
    assert boot.run({}, "no_such_mod.h", 3)["error"]["errorType"] == "Runtime.ImportModuleError"
    assert boot.run({}, "nodot", 3)["error"]["errorType"] == "Runtime.MalformedHandlerName"
