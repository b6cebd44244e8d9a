"""`deploy.py route`: every source, both outputs, exit codes, trusted rules, commits checked against
their refs, and --changed-since, against a real clone (see gitutil.make_delivery_clone)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.delivery.cli import route

from .conftest import DEV_NEW, FIXTURES, REL, TAG_COMMIT
from .gitutil import git

JENKINS_VARS = ("BRANCH_NAME", "TAG_NAME", "CHANGE_ID", "CHANGE_TARGET", "CHANGE_BRANCH", "GIT_COMMIT", "BUILD_URL",
                "DEPLOY_TRUSTED_REF")
REPO_ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    cleared = {name: None for name in JENKINS_VARS}
    return CliRunner().invoke(route, list(args), env={**cleared, **(env or {})}, input=input, catch_exceptions=False)


def as_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def one_error_line(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [result.output.strip()], result.output
    assert message in result.output, result.output


def payload(tmp_path: Path, name: str, replacements: dict[str, str]) -> str:
    """A fixture body with its made-up hashes replaced by commits of the clone."""
    text = (FIXTURES / name).read_text()
    for old, new in replacements.items():
        text = text.replace(old, new)
    path = tmp_path / Path(name).name
    path.write_text(text)
    return str(path)


def test_jenkins_branch_build_text_output(clone):
    result = run("--jenkins", "--repo", clone["path"],
                 env={"BRANCH_NAME": "develop", "GIT_COMMIT": clone["docs"], "BUILD_URL": "https://ci/job/1/"})
    assert result.exit_code == 0, result.output
    assert "Source: jenkins" in result.output
    assert f"Rules:  deploy/config/routing.json at origin/main ({clone['main']})" in result.output
    assert "DEPLOY to dev" in result.output
    assert "config:            config/dev.json  (region us-east-2)" in result.output
    assert "projects:          fpac, sales" in result.output
    assert f"commit:            {clone['docs']}" in result.output
    assert "approval required: no" in result.output
    assert "on trusted ref:    no (origin/main)" in result.output
    assert "why:               push to develop matches rule 'develop-to-dev'" in result.output
    assert "note:" not in result.output  # develop's rules are main's


def test_jenkins_json_output_for_a_prod_candidate(clone):
    data = as_json(run("--jenkins", "--output", "json", "--repo", clone["path"],
                       env={"BRANCH_NAME": "main", "GIT_COMMIT": clone["main"]}))
    [decision] = data["decisions"]
    assert data["deploy"] is True
    assert data["rules"] == {"ref": "origin/main", "commit": clone["main"], "path": "deploy/config/routing.json"}
    assert (decision["environment"], decision["action"], decision["config"], decision["commit"]) == (
        "prod", "plan", "config/prod.json", clone["main"])
    assert decision["projects"] == ["fpac", "sales"]
    assert decision["on_trusted_ref"] is True


def test_projects_are_those_of_the_routed_commit(clone):
    """A project added on develop is deployed from develop although the trusted ref does not have it yet."""
    data = as_json(run("--event", "push", "--ref", "develop", "--commit", clone["orders"], "--output", "json",
                       "--repo", clone["path"]))
    assert data["decisions"][0]["projects"] == ["fpac", "orders", "sales"]


def test_an_environment_deploys_only_the_projects_its_config_names(clone):
    """A release push goes to test, whose config names only fpac: sales is noted, never planned there."""
    data = as_json(run("--event", "push", "--ref", "release/2.1", "--commit", clone["release"], "--output", "json",
                       "--repo", clone["path"]))
    (decision,) = data["decisions"]
    assert decision["environment"] == "test" and decision["projects"] == ["fpac"]
    assert any("not in config/test.json" in n and "sales" in n for n in decision["notes"])


def test_nothing_to_deploy_exits_0_with_a_clear_message(clone):
    env = {"BRANCH_NAME": "feature/payments", "GIT_COMMIT": clone["feature"]}
    result = run("--jenkins", "--repo", clone["path"], env=env)
    assert result.exit_code == 0, result.output
    assert "nothing to deploy for push to feature/payments: no routing rule matches" in result.output
    data = as_json(run("--jenkins", "--output", "json", "--repo", clone["path"], env=env))
    assert data["deploy"] is False and data["decisions"][0]["reason"].startswith("nothing to deploy")
    assert data["decisions"][0]["on_trusted_ref"] is None


# ---------------------------------------------------------------- trusted rules

def test_a_branch_that_routes_itself_to_prod_gets_the_trusted_decision(clone):
    """The audit's case: feature/self-route edits routing.json to send its pushes to prod without
    approval. `deploy.py route --jenkins` (a fresh process, as Jenkins runs it) decides with
    origin/main's rules: nothing to deploy, and a note says why."""
    env = {k: v for k, v in os.environ.items() if k not in JENKINS_VARS}
    env.update({"BRANCH_NAME": "feature/self-route", "GIT_COMMIT": clone["self_route"]})
    result = subprocess.run([sys.executable, "deploy/deploy.py", "route", "--jenkins", "--repo", clone["path"], "--output", "json"],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [decision] = data["decisions"]
    assert data["deploy"] is False and decision["environment"] is None
    assert decision["reason"] == "nothing to deploy for push to feature/self-route: no routing rule matches"
    assert decision["notes"] == [
        "this commit's deploy/config/routing.json differs from origin/main's and was not used: the rules of origin/main"
        " decide (a branch cannot change its own route)"]
    # The branch's own file really does route it to prod without approval: the test above can fail.
    own = Path(clone["path"]).parent / "self-route-rules.json"
    own.write_text(git(Path(clone["path"]), "show", f"{clone['self_route']}:deploy/config/routing.json"))
    mine = as_json(run("--jenkins", "--rules", str(own), "--output", "json", "--repo", clone["path"],
                       env={"BRANCH_NAME": "feature/self-route", "GIT_COMMIT": clone["self_route"]}))
    assert (mine["decisions"][0]["environment"], mine["decisions"][0]["approval_required"]) == ("prod", False)
    assert mine["rules"] == {"file": str(own)}


def test_the_trusted_ref_is_configurable(clone):
    """--trusted-ref / DEPLOY_TRUSTED_REF name the ref whose rules decide (here, one that routes feature/* to prod)."""
    args = ["--event", "push", "--ref", "feature/payments", "--commit", clone["feature"], "--repo", clone["path"], "--output", "json"]
    for extra, env in ((["--trusted-ref", "origin/feature/self-route"], {}), ([], {"DEPLOY_TRUSTED_REF": "origin/feature/self-route"})):
        data = as_json(run(*args, *extra, env=env))
        assert data["rules"]["ref"] == "origin/feature/self-route"
        assert data["decisions"][0]["environment"] == "prod"
        assert data["decisions"][0]["on_trusted_ref"] is False


def test_a_missing_trusted_ref_fails_and_says_how_to_fetch_it(clone):
    result = run("--event", "push", "--ref", "develop", "--commit", clone["docs"], "--repo", clone["path"],
                 "--trusted-ref", "origin/trunk")
    one_error_line(result, "Error: git: origin/trunk is not in ")
    assert "fetch it first (git fetch origin +refs/heads/trunk:refs/remotes/origin/trunk)" in result.output
    assert "never falls back to the branch's own rules" in result.output


def test_broken_rules_at_the_trusted_ref_fail_in_one_line(clone):
    # tag v1.0.0 (annotated) as the trusted ref: its routing.json is fine; a commit without one is not.
    ok = run("--event", "push", "--ref", "develop", "--commit", clone["docs"], "--repo", clone["path"], "--trusted-ref", "v1.0.0")
    assert ok.exit_code == 0, ok.output
    bare = Path(clone["path"]).parent / "bare-rules"
    bare.mkdir(exist_ok=True)
    git(bare, "init", "-q")
    (bare / "deploy/config").mkdir(parents=True, exist_ok=True)
    (bare / "deploy/config/routing.json").write_text('{"version": 1,')
    git(bare, "add", "-A")
    git(bare, "commit", "-q", "-m", "broken rules")
    one_error_line(run("--event", "push", "--ref", "main", "--commit", "HEAD", "--repo", str(bare), "--trusted-ref", "main"),
                   "Error: main:deploy/config/routing.json: not valid JSON")


# ---------------------------------------------------------------- the commit must be on its ref

def test_a_commit_not_on_the_pushed_branch_is_refused(clone):
    result = run("--event", "push", "--ref", "develop", "--commit", clone["feature"], "--repo", clone["path"])
    one_error_line(result, f"Error: commit {clone['feature']} is not on branch 'develop' (origin/develop):"
                           " refusing to route push to develop")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--event", "pull_request_merged", "--ref", "feature/payments", "--target", "main", "--commit", "{feature}"],
         "is not on branch 'main' (origin/main): refusing to route pull request feature/payments -> main merged"),
        (["--event", "tag", "--ref", "v2.1.0", "--commit", "{base}"],
         "Error: tag 'v2.1.0' points at {main}, not at {base}: refusing to route tag v2.1.0"),
        (["--event", "tag", "--ref", "v9.9.9", "--commit", "{main}"],
         "tag 'v9.9.9' is not in "),
        (["--event", "push", "--ref", "release/9", "--commit", "{main}"],
         "neither origin/release/9 nor release/9 exists"),
        (["--event", "push", "--ref", "develop", "--commit", "0123456789abcdef0123456789abcdef01234567"],
         "Error: git: cannot "),
    ],
)
def test_events_git_does_not_confirm_are_refused(clone, args, message):
    args = [a.format(**clone) for a in args]
    one_error_line(run(*args, "--repo", clone["path"]), message.format(**clone))


def test_events_git_confirms_are_routed(clone):
    cases = [
        (["--event", "push", "--ref", "develop", "--commit", clone["sales"]], "dev"),  # an older commit of develop
        (["--event", "pull_request_merged", "--ref", "feature/x", "--target", "main", "--commit", clone["main"][:12]], "prod"),
        (["--event", "tag", "--ref", "v1.0.0", "--commit", clone["v1_object"]], "prod"),  # annotated: the tag object, peeled
        (["--event", "tag", "--ref", "v2.1.0", "--commit", clone["main"]], "prod"),
    ]
    for args, environment in cases:
        data = as_json(run(*args, "--repo", clone["path"], "--output", "json"))
        assert [d["environment"] for d in data["decisions"] if d["deploy"]] == [environment], args
        assert data["decisions"][0]["on_trusted_ref"] is True or environment == "dev"


# ---------------------------------------------------------------- other sources

def test_bitbucket_payload_with_several_changes(clone, tmp_path: Path):
    body = payload(tmp_path, "cloud/repo_push_multi.json", {REL: clone["release"], TAG_COMMIT: clone["main"]})
    data = as_json(run("--bitbucket-event", "repo:push", "--payload", body, "--repo", clone["path"], "--output", "json"))
    assert data["source"] == "bitbucket repo:push" and data["deploy"] is True
    assert [(d["event"]["ref"], d["deploy"], d["environment"]) for d in data["decisions"]] == [
        ("release/2.1", True, "test"), ("feature/old-crawler", False, None), ("v2.1.0", True, "prod"), ("v0.9.0", False, None)]
    assert data["decisions"][2]["commit"] == clone["main"]


def test_route_needs_a_clone(tmp_path: Path):
    result = run("--event", "push", "--ref", "develop", "--commit", DEV_NEW, "--repo", str(tmp_path))
    one_error_line(result, "Error: git: cannot find the repository in")


def test_bitbucket_ping_and_empty_push_deploy_nothing(clone):
    ping = run("--bitbucket-event", "diagnostics:ping", "--payload", str(FIXTURES / "server/diagnostics_ping.json"),
               "--repo", clone["path"])
    assert ping.exit_code == 0 and "nothing to deploy for diagnostics:ping: a ping" in ping.output
    empty = as_json(run("--bitbucket-event", "repo:push", "--payload", str(FIXTURES / "cloud/repo_push_no_changes.json"),
                        "--repo", clone["path"], "--output", "json"))
    assert empty == {"source": "bitbucket repo:push", "deploy": False, "decisions": [],
                     "rules": {"ref": "origin/main", "commit": clone["main"], "path": "deploy/config/routing.json"},
                     "note": "nothing to deploy for repo:push: the delivery carries no ref change"}


def test_payload_from_stdin(clone, tmp_path: Path):
    body = Path(payload(tmp_path, "server/refs_changed_develop.json", {DEV_NEW: clone["docs"]})).read_text()
    result = run("--bitbucket-event", "repo:refs_changed", "--payload", "-", "--output", "json", "--repo", clone["path"],
                 input=body)
    assert as_json(result)["decisions"][0]["environment"] == "dev"


def test_explicit_event_and_expect_environment(clone):
    args = ["--event", "pull_request_merged", "--ref", "feature/x", "--target", "main", "--commit", clone["main"],
            "--repo", clone["path"]]
    ok = run(*args, "--expect-environment", "prod")
    assert ok.exit_code == 0 and "PLAN ONLY (candidate) against prod" in ok.output
    wrong = run(*args, "--expect-environment", "dev")  # the decision is printed, then the error
    assert wrong.exit_code == 1
    assert wrong.output.strip().splitlines()[-1] == "Error: --expect-environment dev: the rules route this event to prod"
    nothing = run("--event", "push", "--ref", "feature/x", "--commit", clone["feature"], "--expect-environment", "dev",
                  "--repo", clone["path"])
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
    one_error_line(run(*args, env=env), message)


def test_a_deeply_nested_payload_fails_with_one_line(tmp_path: Path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    one_error_line(run("--bitbucket-event", "repo:push", "--payload", str(deep)), "is not JSON (or nested too deeply)")


def test_bad_rules_file_fails_with_one_line(tmp_path: Path):
    rules = tmp_path / "routing.json"
    rules.write_text(json.dumps({"version": 1, "environments": {}, "rules": []}))
    result = run("--jenkins", "--rules", str(rules), env={"BRANCH_NAME": "develop", "GIT_COMMIT": DEV_NEW})
    one_error_line(result, f"Error: {rules}: environments:")


@pytest.mark.parametrize("args", [[], ["--jenkins", "--event", "push"], ["--bitbucket-event", "repo:push"]])
def test_usage_errors(args):
    result = run(*args)
    assert result.exit_code == 2
    assert "Usage:" in result.output


# ---------------------------------------------------------------- git answers: tags, --changed-since

def test_changed_since_limits_to_changed_project_folders(clone):
    result = run("--event", "push", "--ref", "develop", "--commit", clone["sales"], "--changed-since", clone["base"],
                 "--output", "json", "--repo", clone["path"])
    [decision] = as_json(result)["decisions"]
    assert decision["projects"] == ["sales"]
    assert decision["notes"] == [f"unchanged since {clone['base']}, not deployed: fpac"]
    docs = run("--event", "push", "--ref", "develop", "--commit", clone["docs"], "--changed-since", clone["sales"],
               "--repo", clone["path"])
    assert docs.exit_code == 0, docs.output
    assert f"nothing to deploy for push to develop: no project folder changed since {clone['sales']}" in docs.output


def test_tag_route_peels_the_tag_object_and_checks_the_branch(clone):
    on_main = as_json(run("--event", "tag", "--ref", "v1.0.0", "--commit", clone["v1_object"], "--output", "json",
                          "--repo", clone["path"]))
    [decision] = on_main["decisions"]
    assert (decision["environment"], decision["commit"], decision["approval_required"]) == ("prod", clone["base"], True)
    off_main = as_json(run("--event", "tag", "--ref", "v1.1.0", "--commit", clone["v11_object"], "--output", "json",
                           "--repo", clone["path"]))
    [decision] = off_main["decisions"]
    assert decision["deploy"] is False
    assert any("is not on branch 'main'" in note for note in decision["notes"])


def test_bitbucket_tag_without_its_commit_in_the_clone_fails_clearly(clone):
    result = run("--bitbucket-event", "repo:refs_changed", "--payload", str(FIXTURES / "server/refs_changed_multi.json"),
                 "--repo", clone["path"])
    one_error_line(result, "cannot resolve 7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b to a commit")
