"""Several projects in one run: a second pipeline written against the project API (tests/integration/
orders_example, copied to a temporary folder and found through $PIPELINE_DEPLOYER_PROJECTS) deploys with
fpac in one `--project-type all` run, redeploys with no changes, and is destroyed."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.cli import cli
from deploy.common.projects import ENV_VAR, list_projects

EXAMPLE = Path(__file__).resolve().parent / "orders_example" / "orders_pipeline"
ARTIFACTS = "acme-pipelines-local-artifacts"


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def two_projects(tmp_path, monkeypatch, write_config):
    projects = tmp_path / "projects"
    shutil.copytree(EXAMPLE, projects / "orders_pipeline")
    monkeypatch.setenv(ENV_VAR, str(projects))
    yield write_config(lambda d: d["projects"].update({"orders": {"data_bucket": "acme-orders-itest-data"}}))
    for name in [m for m in sys.modules if m.startswith("pipeline_deployer_projects")]:
        del sys.modules[name]


def target(config, projects="all"):
    return ["--config", str(config), "--region", "us-east-2", "--project-type", projects]


def test_two_projects_deploy_together_redeploy_with_no_changes_and_are_destroyed(two_projects, local_aws_client):
    config = two_projects
    assert set(list_projects()) >= {"fpac", "orders"}, "the second project is found by discovery"
    code, out, err = run("validate", *target(config))
    assert code == 0, err
    assert "orders:" in out and "fpac:" in out and "the shared resources:" in out

    code, out, err = run("deploy", *target(config), "--yes", "--output", "json")
    assert code == 0, err
    document = json.loads(out)
    assert set(document["plans"]) == {"deployer", "fpac", "orders"}, "the shared resources are their own part of the run"
    assert all(r["ok"] for r in document["results"].values())
    machines = {m["name"] for m in local_aws_client("stepfunctions").list_state_machines()["stateMachines"]}
    assert machines == {"fpac-itest-workflow", "orders-itest-workflow"}
    assert "[orders]" in err and "[fpac]" in err, "progress names the project"
    s3 = local_aws_client("s3")
    records = {o["Key"] for o in s3.list_objects_v2(Bucket=ARTIFACTS, Prefix="_deployer/")["Contents"] if o["Key"].endswith("record.json")}
    assert records == {"_deployer/deployer/itest/record.json", "_deployer/fpac/itest/record.json",
                       "_deployer/orders/itest/record.json"}, "each part has its own record (and lock, and history)"

    code, out, err = run("plan", *target(config))
    assert code == 0, out + err
    assert out.count("No changes.") == 3

    code, out, err = run("plan", *target(config, "orders"))
    assert code == 0, "one project of the two plans on its own, with the shared resources, and finds nothing to do"

    code, out, err = run("destroy", *target(config), "--yes")
    assert code == 0, err
    assert local_aws_client("stepfunctions").list_state_machines()["stateMachines"] == []
    assert local_aws_client("lambda").list_functions()["Functions"] == []


def test_a_project_list_and_errors_name_the_project(two_projects):
    code, _, err = run("validate", *target(two_projects, "fpac,nosuch"))
    assert code == 1 and "unknown project 'nosuch'" in err
    code, out, err = run("validate", *target(two_projects, "orders,fpac"))
    assert code == 0, err


def test_a_copy_of_fpac_under_another_name_deploys_beside_it(tmp_path, monkeypatch, write_config, local_aws_client):
    """Copying fpac_pipeline to another name and adding a config section is all it takes to deploy both."""
    projects = tmp_path / "projects"
    shutil.copytree(Path(__file__).resolve().parents[2] / "deploy" / "projects" / "fpac_pipeline",
                    projects / "payments_pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv(ENV_VAR, str(projects))

    def add_section(doc):
        doc["projects"]["payments"] = {**doc["projects"]["fpac"], "data_bucket": "acme-payments-itest-data"}

    config = write_config(add_section)
    try:
        code, out, err = run("deploy", *target(config, "fpac,payments"), "--yes", "--output", "json")
        assert code == 0, err
        machines = {m["name"] for m in local_aws_client("stepfunctions").list_state_machines()["stateMachines"]}
        assert machines == {"fpac-itest-workflow", "payments-itest-workflow"}
        functions = {f["FunctionName"] for f in local_aws_client("lambda").list_functions()["Functions"]}
        assert {"fpac-itest-validate", "payments-itest-validate"} <= functions
        code, out, err = run("plan", *target(config, "fpac,payments"))
        assert code == 0 and out.count("No changes.") == 3, out + err
    finally:
        for name in [m for m in sys.modules if m.startswith("pipeline_deployer_projects")]:
            del sys.modules[name]
