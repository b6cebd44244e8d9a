"""What a routing decision may trust: rules from the trusted ref, and a commit that is on its ref.

A build runs the code of the commit it builds, so nothing that commit carries may decide where it
goes. The rules are read from the trusted ref (``origin/main`` by default: reviewed, merged code)
with ``git show``, never from the working tree; when the commit's own rules file differs, the
decision says so and still follows the trusted rules. And an event is only believed when git
agrees: a pushed commit must be on the pushed branch, a merged one on the target branch, and a tag
must point at the commit. Without the trusted ref in the clone, routing fails: it never falls back
to the branch's own rules.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from ..common.errors import ConfigError
from .errors import DeliveryError
from .events import GitEvent
from .gitrepo import GitRepo
from .routing import Decision
from .rules import RoutingRules, parse_rules

TRUSTED_REF_ENV = "DEPLOY_TRUSTED_REF"
DEFAULT_TRUSTED_REF = "origin/main"
RULES_IN_REPO = "deploy/config/routing.json"  # where the rules file is in every commit
PROJECTS_IN_REPO = "deploy/projects"  # and the project folders, <name>_pipeline


@dataclass(frozen=True)
class RulesSource:
    """Where the rules of a decision came from: a trusted ref (with its commit) or a file given by hand."""

    ref: str | None = None
    commit: str | None = None
    file: str | None = None

    def describe(self) -> str:
        if self.ref:
            return f"{RULES_IN_REPO} at {self.ref} ({self.commit})"
        return f"{self.file} (a file given with --rules, not a trusted ref)"

    def to_dict(self) -> dict[str, Any]:
        if self.ref:
            return {"ref": self.ref, "commit": self.commit, "path": RULES_IN_REPO}
        return {"file": self.file}


def fetch_hint(ref: str) -> str:
    """How to bring ``ref`` into a clone (a remote-tracking branch, or anything else)."""
    remote, _, branch = ref.partition("/")
    if remote == "origin" and branch:
        return f"fetch it first (git fetch origin +refs/heads/{branch}:refs/remotes/origin/{branch}); routing never falls back to the branch's own rules"
    return "fetch it first; routing never falls back to the branch's own rules"


def load_trusted_rules(repo: GitRepo, ref: str) -> tuple[RoutingRules, RulesSource]:
    """The rules file as the trusted ref has it (``git show <ref>:deploy/config/routing.json``)."""
    commit = repo.require_ref(ref, f"the trusted ref is missing: {fetch_hint(ref)}")
    source = f"{ref}:{RULES_IN_REPO}"
    text = repo.show(commit, RULES_IN_REPO)
    if text is None:
        raise ConfigError(f"{source}: no routing rules file at the trusted ref ({commit})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return parse_rules(data, source), RulesSource(ref=ref, commit=commit)


def note_own_rules(decision: Decision, repo: GitRepo, source: RulesSource) -> Decision:
    """Add a note when the decision's commit carries rules other than the trusted ones."""
    if not source.commit or not decision.commit or repo.same_file(RULES_IN_REPO, source.commit, decision.commit):
        return decision
    note = (f"this commit's {RULES_IN_REPO} differs from {source.ref}'s and was not used: the rules of {source.ref}"
            " decide (a branch cannot change its own route)")
    return replace(decision, notes=(note, *decision.notes))


def check_on_ref(event: GitEvent, repo: GitRepo) -> None:
    """DeliveryError unless git agrees the event's commit is what its ref says.

    push: on the pushed branch; pull request merged: on the target branch; open pull request: on
    its source branch; tag: the tag points at the commit.
    """
    commit = event.commit
    if commit is None:
        return
    if event.kind == "tag":
        tagged = repo.tag_commit(event.ref)
        if tagged != repo.peel(commit):
            raise DeliveryError(f"tag '{event.ref}' points at {tagged}, not at {commit}: refusing to route {event.describe()}")
        return
    branch = event.target if event.kind == "pull_request_merged" else event.ref
    ref = repo.branch_ref(branch or "")
    if not repo.is_ancestor(commit, ref):
        raise DeliveryError(
            f"commit {commit} is not on branch '{branch}' ({ref.removeprefix('refs/').removeprefix('remotes/')}):"
            f" refusing to route {event.describe()}"
        )


def mark_trusted_commit(decision: Decision, repo: GitRepo, source: RulesSource) -> Decision:
    """Record whether a deploying decision's commit is on the trusted ref (the Jenkinsfile's guard for prod)."""
    if not decision.deploy or not decision.commit or not source.commit:
        return decision
    return replace(decision, on_trusted_ref=repo.is_ancestor(decision.commit, source.commit))
