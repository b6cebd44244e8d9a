"""Each workflow task's TimeoutSeconds follows the configured timeout of its own function or job."""
import json
from pathlib import Path

from deploy.common.preparation import prepare
from deploy.common.kinds.glue_job import GlueJobSpec
from deploy.common.kinds.lambda_function import FunctionSpec
from deploy.common.kinds.state_machine import StateMachineSpec
from deploy.projects.fpac_pipeline import fpac_stepfunctions as sf

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
LAMBDA_TASKS = {sf.VALIDATE: "Validate", sf.CREATE_NEW_ID: "CreateNewId", sf.LOG_SUCCESS: "LogResults",
                sf.LOG_FAILURE: "LogResults"}
GLUE_TASKS = {sf.LANDING: "landing", sf.CLEANING: "cleaning", sf.FINAL: "final"}


def _task_timeouts(prepared) -> dict[str, int]:
    (machine,) = [s for s in prepared.specs if isinstance(s, StateMachineSpec)]
    return {name: state["TimeoutSeconds"] for name, state in machine.definition["States"].items() if state["Type"] == "Task"}


def _with_fpac(tmp_path: Path, base: str, **fpac_changes) -> Path:
    data = json.loads((CONFIG_DIR / base).read_text())
    data["projects"]["fpac"].update(fpac_changes)
    path = tmp_path / base
    path.write_text(json.dumps(data))
    return path


def test_prod_glue_tasks_wait_for_the_180_minute_jobs():
    prepared = prepare(CONFIG_DIR / "prod.json", "us-east-2", "fpac")
    jobs = {s.component: s for s in prepared.specs if isinstance(s, GlueJobSpec)}
    assert {j.timeout_minutes for j in jobs.values()} == {180}
    timeouts = _task_timeouts(prepared)
    for task, job in GLUE_TASKS.items():
        assert timeouts[task] == 180 * 60 + 300 == jobs[job].timeout_minutes * 60 + sf.GLUE_TASK_MARGIN_SECONDS
    # prod's Validate has its own 300 s timeout; the others take lambda_defaults' 120 s.
    assert timeouts[sf.VALIDATE] == 300 + 30
    assert timeouts[sf.CREATE_NEW_ID] == timeouts[sf.LOG_SUCCESS] == timeouts[sf.LOG_FAILURE] == 120 + 30
    assert timeouts[sf.START_CRAWLER] == 60
    (machine,) = [s for s in prepared.specs if isinstance(s, StateMachineSpec)]
    assert machine.definition["TimeoutSeconds"] == sum(timeouts.values()) + 3600


def test_every_task_follows_its_own_function_or_job(tmp_path):
    config = _with_fpac(tmp_path, "dev.json",
                        functions={"CreateNewId": {"timeout_seconds": 45}},
                        jobs={"cleaning": {"timeout_minutes": 240}})
    prepared = prepare(config, "us-east-2", "fpac")
    functions = {s.name.rsplit("-", 1)[1]: s.timeout_seconds for s in prepared.specs if isinstance(s, FunctionSpec)}
    assert functions == {"validate": 60, "createnewid": 45, "logresults": 60}  # the override replaced dev's Validate one
    timeouts = _task_timeouts(prepared)
    assert {t: timeouts[t] for t in LAMBDA_TASKS} == {
        sf.VALIDATE: 60 + 30, sf.CREATE_NEW_ID: 45 + 30, sf.LOG_SUCCESS: 60 + 30, sf.LOG_FAILURE: 60 + 30}
    assert {t: timeouts[t] for t in GLUE_TASKS} == {
        sf.LANDING: 60 * 60 + 300, sf.CLEANING: 240 * 60 + 300, sf.FINAL: 60 * 60 + 300}


def test_a_function_override_changes_only_its_own_task(tmp_path):
    base = _task_timeouts(prepare(CONFIG_DIR / "dev.json", "us-east-2", "fpac"))
    changed = _task_timeouts(prepare(
        _with_fpac(tmp_path, "dev.json", functions={"Validate": {"timeout_seconds": 500}}), "us-east-2", "fpac"))
    assert {t for t in base if base[t] != changed[t]} == {sf.VALIDATE}
    assert changed[sf.VALIDATE] == 500 + sf.LAMBDA_TASK_MARGIN_SECONDS
