"""`deploy.py route`: every source, both outputs, exit codes, and --changed-since end to end."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.common.delivery.cli import route
from deploy.common.delivery.rules import DEPLOY_DIR
from deploy.common.projects import list_projects

from .conftest import DEV_NEW, FIXTURES, MERGE, TAG_COMMIT
from .gitutil import commit_files, git

JENKINS_VARS = ("BRANCH_NAME", "TAG_NAME", "CHANGE_ID", "CHANGE_TARGET", "CHANGE_BRANCH", "GIT_COMMIT", "BUILD_URL")


def run(*args: str, env: dict[str, str] | None = None):
    cleared = {name: None for name in JENKINS_VARS}
    return CliRunner().invoke(route, list(args), env={**cleared, **(env or {})}, catch_exceptions=False)


def as_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_jenkins_branch_build_text_output():
    result = run("--jenkins", env={"BRANCH_NAME": "develop", "GIT_COMMIT": DEV_NEW, "BUILD_URL": "https://ci/job/1/"})
    assert result.exit_code == 0
    assert "Source: jenkins" in result.output
    assert "DEPLOY to dev" in result.output
    assert "config:            config/dev.json  (region us-east-2)" in result.output
    assert f"commit:            {DEV_NEW}" in result.output
    assert "approval required: no" in result.output
    assert "why:               push to develop matches rule 'develop-to-dev'" in result.output


def test_jenkins_json_output_for_a_prod_candidate():
    data = as_json(run("--jenkins", "--output", "json", env={"BRANCH_NAME": "main", "GIT_COMMIT": MERGE}))
    [decision] = data["decisions"]
    assert data["deploy"] is True
    assert (decision["environment"], decision["action"], decision["config"], decision["commit"]) == (
        "prod", "plan", "config/prod.json", MERGE)
    assert decision["projects"] == list_projects()


def test_nothing_to_deploy_exits_0_with_a_clear_message():
    result = run("--jenkins", env={"BRANCH_NAME": "feature/payments", "GIT_COMMIT": DEV_NEW})
    assert result.exit_code == 0
    assert "nothing to deploy for push to feature/payments: no routing rule matches" in result.output
    data = as_json(run("--jenkins", "--output", "json", env={"BRANCH_NAME": "feature/payments", "GIT_COMMIT": DEV_NEW}))
    assert data["deploy"] is False and data["decisions"][0]["reason"].startswith("nothing to deploy")


def test_bitbucket_payload_with_several_changes(tmp_path: Path):
    rules = json.loads((DEPLOY_DIR / "config/routing.json").read_text())
    del rules["rules"][3]["branch"]  # no 'on main' condition: no git needed
    (tmp_path / "routing.json").write_text(json.dumps(rules))
    data = as_json(run("--bitbucket-event", "repo:push", "--payload", str(FIXTURES / "cloud/repo_push_multi.json"),
                       "--rules", str(tmp_path / "routing.json"), "--output", "json"))
    assert data["source"] == "bitbucket repo:push" and data["deploy"] is True
    assert [(d["event"]["ref"], d["deploy"], d["environment"]) for d in data["decisions"]] == [
        ("release/2.1", True, "test"), ("feature/old-crawler", False, None), ("v2.1.0", True, "prod"), ("v0.9.0", False, None)]
    assert data["decisions"][2]["commit"] == TAG_COMMIT


def test_a_tag_rule_on_a_branch_needs_a_clone(tmp_path: Path):
    result = run("--bitbucket-event", "repo:push", "--payload", str(FIXTURES / "cloud/repo_push_multi.json"),
                 "--repo", str(tmp_path))
    assert result.exit_code == 1
    assert "Error: git: cannot find the repository in" in result.output


def test_bitbucket_ping_and_empty_push_deploy_nothing():
    ping = run("--bitbucket-event", "diagnostics:ping", "--payload", str(FIXTURES / "server/diagnostics_ping.json"))
    assert ping.exit_code == 0 and "nothing to deploy for diagnostics:ping: a ping" in ping.output
    empty = as_json(run("--bitbucket-event", "repo:push", "--payload", str(FIXTURES / "cloud/repo_push_no_changes.json"),
                        "--output", "json"))
    assert empty == {"source": "bitbucket repo:push", "deploy": False, "decisions": [],
                     "note": "nothing to deploy for repo:push: the delivery carries no ref change"}


def test_payload_from_stdin():
    body = (FIXTURES / "server/refs_changed_develop.json").read_text()
    args = ["--bitbucket-event", "repo:refs_changed", "--payload", "-", "--output", "json"]
    result = CliRunner().invoke(route, args, input=body)
    assert json.loads(result.output)["decisions"][0]["environment"] == "dev"


def test_explicit_event_and_expect_environment():
    args = ["--event", "pull_request_merged", "--ref", "feature/x", "--target", "main", "--commit", MERGE]
    ok = run(*args, "--expect-environment", "prod")
    assert ok.exit_code == 0 and "PLAN ONLY (candidate) against prod" in ok.output
    wrong = run(*args, "--expect-environment", "dev")
    assert wrong.exit_code == 1
    assert "Error: --expect-environment dev: the rules route this event to prod" in wrong.output
    nothing = run("--event", "push", "--ref", "feature/x", "--commit", MERGE, "--expect-environment", "dev")
    assert nothing.exit_code == 1 and "the rules route this event to nothing" in nothing.output


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--jenkins"], {"BRANCH_NAME": "develop"}, "Error: GIT_COMMIT is not set"),
        (["--event", "pull_request", "--ref", "x", "--commit", "abc"], {}, "Error: --target: required"),
        (["--bitbucket-event", "repo:push", "--payload", str(FIXTURES / "README.md")], {}, "is not JSON"),
        (["--bitbucket-event", "repo:push", "--payload", str(FIXTURES / "server/refs_changed_develop.json")], {},
         "Error: repo:push payload: push.changes is missing"),
    ],
)
def test_bad_input_fails_with_one_line(args, env, message):
    result = run(*args, env=env)
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_rules_file_fails_with_one_line(tmp_path: Path):
    rules = tmp_path / "routing.json"
    rules.write_text(json.dumps({"version": 1, "environments": {}, "rules": []}))
    result = run("--jenkins", "--rules", str(rules), env={"BRANCH_NAME": "develop", "GIT_COMMIT": DEV_NEW})
    assert result.exit_code == 1
    assert f"Error: {rules}: environments:" in result.output


@pytest.mark.parametrize("args", [[], ["--jenkins", "--event", "push"], ["--bitbucket-event", "repo:push"]])
def test_usage_errors(args):
    result = run(*args)
    assert result.exit_code == 2
    assert "Usage:" in result.output


# ---------------------------------------------------------------- with a real git repository

@pytest.fixture
def pipeline_repo(tmp_path: Path) -> dict[str, str]:
    """A repository holding a copy of the deployer with two projects, and this history:
    main: base (tag v1.0.0, annotated) -> develop: sales change -> docs change."""
    repo = tmp_path / "repo"
    shutil.copytree(DEPLOY_DIR, repo / "deploy", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "deploy/projects/sales_pipeline").mkdir()
    (repo / "deploy/projects/sales_pipeline/deploy.py").write_text("# sales\n")
    git(repo, "init", "-q")
    base = commit_files(repo, {"README.md": "x\n"}, "base")
    git(repo, "tag", "-a", "v1.0.0", "-m", "release")
    git(repo, "checkout", "-q", "-b", "develop")
    sales = commit_files(repo, {"deploy/projects/sales_pipeline/rules.py": "r\n"}, "sales change")
    docs = commit_files(repo, {"README.md": "y\n"}, "docs only")
    git(repo, "tag", "-a", "v1.1.0", "-m", "not on main")
    return {"path": str(repo), "base": base, "sales": sales, "docs": docs,
            "v1": git(repo, "rev-parse", "v1.0.0"), "v11": git(repo, "rev-parse", "v1.1.0")}


def run_in(repo: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the copy's `route` in a fresh interpreter, as Jenkins would (cwd = the checkout)."""
    code = "import sys; from deploy.common.delivery.cli import route; route(prog_name='deploy.py route')"
    env = {k: v for k, v in os.environ.items() if k not in JENKINS_VARS}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60)


def test_changed_since_limits_to_changed_project_folders(pipeline_repo):
    repo = pipeline_repo["path"]
    result = run_in(repo, "--event", "push", "--ref", "develop", "--commit", pipeline_repo["sales"],
                    "--changed-since", pipeline_repo["base"], "--output", "json")
    assert result.returncode == 0, result.stderr
    [decision] = json.loads(result.stdout)["decisions"]
    assert decision["projects"] == ["sales"]
    assert decision["notes"] == [f"unchanged since {pipeline_repo['base']}, not deployed: fpac"]
    docs = run_in(repo, "--event", "push", "--ref", "develop", "--commit", pipeline_repo["docs"],
                  "--changed-since", pipeline_repo["sales"])
    assert docs.returncode == 0, docs.stderr
    assert f"nothing to deploy for push to develop: no project folder changed since {pipeline_repo['sales']}" in docs.stdout


def test_tag_route_peels_the_tag_object_and_checks_the_branch(pipeline_repo):
    repo = pipeline_repo["path"]
    on_main = run_in(repo, "--event", "tag", "--ref", "v1.0.0", "--commit", pipeline_repo["v1"], "--output", "json")
    assert on_main.returncode == 0, on_main.stderr
    [decision] = json.loads(on_main.stdout)["decisions"]
    assert (decision["environment"], decision["commit"], decision["approval_required"]) == ("prod", pipeline_repo["base"], True)
    off_main = run_in(repo, "--event", "tag", "--ref", "v1.1.0", "--commit", pipeline_repo["v11"], "--output", "json")
    [decision] = json.loads(off_main.stdout)["decisions"]
    assert decision["deploy"] is False
    assert any("is not on branch 'main'" in note for note in decision["notes"])


def test_bitbucket_tag_without_a_clone_of_its_commit_fails_clearly(pipeline_repo):
    result = run_in(pipeline_repo["path"], "--bitbucket-event", "repo:refs_changed",
                    "--payload", str(FIXTURES / "server/refs_changed_multi.json"))
    assert result.returncode == 1
    assert "cannot resolve 7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b to a commit" in result.stderr
