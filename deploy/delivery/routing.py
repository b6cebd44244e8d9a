"""Pure routing: git events + rules -> deployment decisions. No I/O; git questions are injected.

A decision says which environment (if any) an event deploys to, with what, and why. Several
events that lead to the same deployment (same environment, action and commit) deploy once: the
first keeps it, the others say so. That covers a merge, which Bitbucket reports twice (the pull
request and the push of the merge commit), and one push that moves several refs to one commit.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any

from ..common.errors import ConfigError
from .events import PR_KINDS, GitEvent
from .rules import Rule, RoutingRules

# (commit, branch) -> is the commit on that branch? Raises DeliveryError when it cannot tell.
BranchCheck = Callable[[str, str], bool]
# The known project names, or a function giving those of one commit (``route`` asks git for them).
Projects = Sequence[str] | Callable[[str], Sequence[str]]
COMMIT_KEY_LENGTH = 12  # Bitbucket Cloud abbreviates some hashes to 12 characters


@dataclass(frozen=True)
class Decision:
    """What one git event deploys. ``deploy`` False means nothing, and ``reason`` says why."""

    event: GitEvent
    deploy: bool
    reason: str
    rule: str | None = None
    environment: str | None = None
    action: str | None = None
    config: str | None = None
    region: str | None = None
    projects: tuple[str, ...] = ()
    approval_required: bool = False
    smoke_run: bool = False
    notes: tuple[str, ...] = ()
    on_trusted_ref: bool | None = None  # is the commit on the trusted ref? None: not asked (no trusted ref, or no deploy)

    @property
    def commit(self) -> str | None:
        return self.event.commit

    def deployment_key(self) -> tuple[str, str, str] | None:
        """Identity of the deployment, for deploy-once: same environment, action and commit."""
        if not self.deploy or not self.commit:
            return None
        return (self.environment or "", self.action or "", commit_key(self.commit))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["commit"] = self.commit
        data["event"] = self.event.to_dict()
        data["projects"] = list(self.projects)
        data["notes"] = list(self.notes)
        return data


def commit_key(commit: str) -> str:
    """Full and 12-character abbreviated hashes of one commit compare equal."""
    return commit.lower()[:COMMIT_KEY_LENGTH]


def _nothing(event: GitEvent, why: str) -> Decision:
    return Decision(event=event, deploy=False, reason=f"nothing to deploy for {event.describe()}: {why}")


def _matches(rule: Rule, event: GitEvent) -> bool:
    """Ref patterns only; the tag-on-branch condition is checked separately (it needs git)."""
    if event.kind not in rule.events:
        return False
    if event.kind == "push":
        return fnmatchcase(event.ref, rule.branch or "")
    if event.kind in PR_KINDS:
        return fnmatchcase(event.target or "", rule.branch or "") and (
            rule.source_branch is None or fnmatchcase(event.ref, rule.source_branch)
        )
    return fnmatchcase(event.ref, rule.tag or "")


def _describe_rule(rule: Rule) -> str:
    parts = [f"event {'/'.join(rule.events)}"]
    if rule.tag:
        parts.append(f"tag '{rule.tag}'")
    if rule.branch:
        parts.append(f"{'on branch' if rule.tag else 'branch'} '{rule.branch}'")
    if rule.source_branch:
        parts.append(f"source '{rule.source_branch}'")
    return ", ".join(parts)


def route_event(
    event: GitEvent,
    rules: RoutingRules,
    projects: Projects,
    branch_check: BranchCheck | None = None,
) -> Decision:
    """Decide for one event: the first rule that matches wins.

    ``projects`` are the known project names, or a function of the commit giving them (asked only
    when a rule matches). Without ``branch_check`` (the webhook receiver has
    no clone), a tag rule's branch condition is left to the pipeline, which routes again with git.
    """
    if event.deleted:
        return _nothing(event, "a deletion never deploys")
    if not event.commit:
        return _nothing(event, "the event names no commit")
    notes: list[str] = []
    for rule in rules.rules:
        if not _matches(rule, event):
            continue
        if event.kind == "tag" and rule.branch:
            if branch_check is None:
                notes.append(f"not checked here that the tagged commit is on '{rule.branch}': the pipeline checks it")
            elif not branch_check(event.commit, rule.branch):
                notes.append(f"rule '{rule.name}' skipped: commit {event.commit} is not on branch '{rule.branch}'")
                continue
        return _decide(event, rule, rules, projects, notes)
    return replace(_nothing(event, "no routing rule matches"), notes=tuple(notes))


def _decide(event: GitEvent, rule: Rule, rules: RoutingRules, known: Projects, notes: list[str]) -> Decision:
    target = rules.environments[rule.environment]
    projects = known(event.commit or "") if callable(known) else known
    if rule.projects is not None:
        unknown = sorted(set(rule.projects) - set(projects))
        if unknown:
            raise ConfigError(
                f"routing rule '{rule.name}': projects: unknown project(s) {', '.join(unknown)}"
                f" (known: {', '.join(projects) or 'none'})"
            )
        chosen = tuple(p for p in projects if p in rule.projects)
    else:
        chosen = tuple(projects)
    if not event.commit_is_peeled:
        notes.append(f"{event.commit} may be an annotated tag object: the pipeline resolves it to its commit")
    deploys = rule.action == "deploy"
    verb = "deploy to" if deploys else "plan (candidate) against"
    return Decision(
        event=event,
        deploy=bool(chosen),
        reason=(
            f"{event.describe()} matches rule '{rule.name}' ({_describe_rule(rule)}): {verb} {rule.environment}"
            if chosen
            else f"nothing to deploy for {event.describe()}: rule '{rule.name}' matches but there is no project"
        ),
        rule=rule.name,
        environment=rule.environment,
        action=rule.action,
        config=target.config,
        region=target.region,
        projects=chosen,
        approval_required=deploys and (rule.approval_required or target.approval_required),
        smoke_run=deploys and target.smoke_run,
        notes=tuple(notes),
    )


def route_events(
    events: Iterable[GitEvent],
    rules: RoutingRules,
    projects: Projects,
    branch_check: BranchCheck | None = None,
) -> list[Decision]:
    """Decide for every event of one delivery, deploying each (environment, action, commit) once."""
    return deploy_once([route_event(e, rules, projects, branch_check) for e in events])


def deploy_once(decisions: Iterable[Decision]) -> list[Decision]:
    """Keep the first decision of each deployment; later duplicates become 'already deployed'."""
    kept: dict[tuple[str, str, str], Decision] = {}
    result = []
    for decision in decisions:
        key = decision.deployment_key()
        if key is not None and key in kept:
            first = kept[key]
            decision = replace(
                decision,
                deploy=False,
                reason=(
                    f"nothing more to deploy for {decision.event.describe()}: same deployment as"
                    f" {first.event.describe()} ({first.action} {first.environment} at {decision.commit})"
                ),
            )
        elif key is not None:
            kept[key] = decision
        result.append(decision)
    return result


def projects_touched(changed_paths: Iterable[str], folders: Mapping[str, str]) -> list[str]:
    """Projects whose folder (a repo-relative POSIX path) contains one of the changed paths."""
    prefixes = {name: PurePosixPath(folder).parts for name, folder in folders.items()}
    touched = set()
    for path in changed_paths:
        parts = PurePosixPath(path).parts
        touched.update(name for name, prefix in prefixes.items() if parts[: len(prefix)] == prefix)
    return sorted(touched)


def limit_to_changed(decision: Decision, changed: Sequence[str], since: str) -> Decision:
    """Keep only the decision's projects that changed since ``since``; nothing left -> no deploy."""
    if not decision.deploy:
        return decision
    kept = tuple(p for p in decision.projects if p in changed)
    skipped = [p for p in decision.projects if p not in changed]
    notes = decision.notes + ((f"unchanged since {since}, not deployed: {', '.join(skipped)}",) if skipped else ())
    if kept:
        return replace(decision, projects=kept, notes=notes)
    return replace(
        decision,
        deploy=False,
        projects=(),
        notes=notes,
        reason=f"nothing to deploy for {decision.event.describe()}: no project folder changed since {since}",
    )


def limit_to_configured(decision: Decision, configured: Sequence[str] | None) -> Decision:
    """Keep only the decision's projects that the environment's config names (``projects``): an environment deploys
    what its config sets up, and a project it does not know is noted, never planned. ``configured`` None: the
    config could not be read here (the pipeline, which can, narrows again)."""
    if not decision.deploy or configured is None:
        return decision
    kept = tuple(p for p in decision.projects if p in configured)
    skipped = [p for p in decision.projects if p not in configured]
    notes = decision.notes + ((f"not in {decision.config} (its projects section), not deployed to {decision.environment}: "
                               f"{', '.join(skipped)}",) if skipped else ())
    if kept:
        return replace(decision, projects=kept, notes=notes)
    return replace(decision, deploy=False, projects=(), notes=notes,
                   reason=f"nothing to deploy for {decision.event.describe()}: {decision.config} names none of its projects")
