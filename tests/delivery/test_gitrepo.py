"""The git questions routing asks, against real throw-away repositories."""
from __future__ import annotations

from pathlib import Path

import pytest

from deploy.delivery.errors import DeliveryError
from deploy.delivery.gitrepo import GitRepo

from .gitutil import commit_files, git


@pytest.fixture
def repo(tmp_path: Path) -> dict[str, str]:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q")
    first = commit_files(
        origin, {"deploy/projects/fpac_pipeline/deploy.py": "a\n", "deploy/projects/sales_pipeline/deploy.py": "b\n"}, "first")
    git(origin, "tag", "-a", "v1.0.0", "-m", "release 1.0.0")
    git(origin, "checkout", "-q", "-b", "develop")
    second = commit_files(origin, {"deploy/projects/sales_pipeline/rules.py": "c\n"}, "second")
    git(origin, "tag", "-a", "v2.0.0-rc1", "-m", "rc")
    git(origin, "checkout", "-q", "main")
    return {"path": str(origin), "first": first, "second": second, "tag_object": git(origin, "rev-parse", "v1.0.0")}


def test_peel_turns_an_annotated_tag_into_its_commit(repo):
    git_repo = GitRepo(repo["path"])
    assert repo["tag_object"] != repo["first"]
    assert git_repo.peel(repo["tag_object"]) == repo["first"]
    assert git_repo.peel("v2.0.0-rc1") == repo["second"]
    assert git_repo.peel(repo["first"]) == repo["first"]
    with pytest.raises(DeliveryError, match="cannot resolve 0123456789abcdef to a commit"):
        git_repo.peel("0123456789abcdef")


def test_is_on_branch_uses_the_local_or_the_remote_branch(repo, tmp_path: Path):
    git_repo = GitRepo(repo["path"])
    assert git_repo.is_on_branch(repo["first"], "main") is True
    assert git_repo.is_on_branch(repo["second"], "main") is False
    assert git_repo.is_on_branch(repo["tag_object"], "main") is True
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-checkout", repo["path"], str(clone))
    git(clone, "checkout", "-q", repo["second"])  # detached, like a Jenkins build: only origin/* exist
    cloned = GitRepo(clone)
    assert cloned.is_on_branch(repo["second"], "develop") is True
    assert cloned.is_on_branch(repo["second"], "main") is False


def test_is_on_branch_without_the_branch_says_how_to_fix_it(repo):
    with pytest.raises(DeliveryError, match=r"neither origin/release nor release exists .* \(fetch it first"):
        GitRepo(repo["path"]).is_on_branch(repo["first"], "release")


def test_changed_paths_between_two_commits(repo):
    assert GitRepo(repo["path"]).changed_paths(repo["first"], repo["second"]) == ["deploy/projects/sales_pipeline/rules.py"]
    with pytest.raises(DeliveryError, match="cannot diff nope"):
        GitRepo(repo["path"]).changed_paths("nope", repo["second"])


def test_relative_paths_and_not_a_repository(repo, tmp_path: Path):
    git_repo = GitRepo(Path(repo["path"]) / "deploy")
    assert git_repo.relative(Path(repo["path"]) / "deploy" / "projects" / "fpac_pipeline") == "deploy/projects/fpac_pipeline"
    with pytest.raises(DeliveryError, match="is not inside the repository"):
        git_repo.relative(tmp_path)
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(DeliveryError, match="cannot find the repository"):
        GitRepo(outside)


def test_trusted_ref_questions(clone):
    repo = GitRepo(clone["path"])
    assert repo.require_ref("origin/main", "fetch it") == clone["main"]
    with pytest.raises(DeliveryError, match=r"git: origin/trunk is not in .*: fetch it$"):
        repo.require_ref("origin/trunk", "fetch it")
    assert '"develop-to-dev"' in repo.show("origin/main", "deploy/config/routing.json")
    assert repo.show("origin/main", "no/such/file.json") is None
    with pytest.raises(DeliveryError, match="cannot resolve origin/trunk"):
        repo.show("origin/trunk", "deploy/config/routing.json")
    assert repo.same_file("deploy/config/routing.json", "origin/main", clone["docs"]) is True
    assert repo.same_file("deploy/config/routing.json", "origin/main", clone["self_route"]) is False


def test_ancestry_tags_and_projects_at_a_commit(clone):
    repo = GitRepo(clone["path"])
    assert repo.is_ancestor(clone["base"], "origin/develop") and repo.is_ancestor(clone["docs"], clone["docs"])
    assert not repo.is_ancestor(clone["feature"], "origin/develop")
    with pytest.raises(DeliveryError, match="cannot check that 0123 is on origin/main"):
        repo.is_ancestor("0123", "origin/main")
    assert repo.branch_ref("release/2.1") == "refs/remotes/origin/release/2.1"
    assert repo.tag_commit("v1.0.0") == clone["base"] and repo.tag_commit("v2.1.0") == clone["main"]
    with pytest.raises(DeliveryError, match=r"tag 'v0' is not in .* \(fetch it first, e.g. git fetch origin tag v0\)"):
        repo.tag_commit("v0")
    assert repo.projects_at(clone["base"], "deploy/projects") == ["fpac", "sales"]  # notes/ has no deploy.py
    assert repo.projects_at(clone["orders"], "deploy/projects") == ["fpac", "orders", "sales"]
