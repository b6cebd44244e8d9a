"""Several projects in one run: plan them in parallel, apply the shared resources first, then every
project in parallel, each under its own lock, with its own record and history.

A run of one project is the same thing with a single member (which carries the shared resources
itself), so the CLI has one path for both.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from .preparation import Prepared
from .applier import ApplyResult, EventCallback
from .engine import Engine
from .errors import DeployerError
from .plan import Plan
from .planner import describe_error

# Projects planned or applied at once. A project's thread mostly waits: its AWS calls run on the workers of the
# clients every project of the run shares (at most their max_in_flight in all), so this only needs to keep
# those workers fed.
MAX_PARALLEL_PROJECTS = 64


@dataclass
class Member:
    """One project (or the shared resources) of a run."""

    prepared: Prepared
    engine: Engine
    plan: Plan | None = None
    result: ApplyResult | None = None
    error: str = ""

    @property
    def name(self) -> str:
        return self.prepared.project


def plan_all(members: list[Member], plan_of: Callable[[Member], Plan]) -> None:
    """Every member's plan, in parallel (plans only read). The first error is raised after all have finished."""
    def one(member: Member) -> None:
        member.plan = plan_of(member)

    _parallel(members, one)


def apply_all(members: list[Member], on_event: Callable[[Member], EventCallback]) -> None:
    """Apply what changes: the shared resources first (when the run has them apart), then the projects in
    parallel. A member that cannot apply (locked, stale plan, refused) is reported; the others go on."""
    shared = [m for m in members if m.prepared.context.settings is None]
    projects = [m for m in members if m not in shared]
    _apply_group(shared, on_event)
    if any(m.error or (m.result is not None and not m.result.ok) for m in shared):
        for member in projects:
            member.error = "not applied: the shared resources failed first"
        return
    _apply_group(projects, on_event)


def _apply_group(members: list[Member], on_event: Callable[[Member], EventCallback]) -> None:
    _parallel([m for m in members if m.plan is not None and m.plan.has_changes], lambda m: _apply(m, on_event(m)))


def _apply(member: Member, on_event: EventCallback) -> None:
    try:
        member.result = member.engine.apply(member.plan, on_event=on_event)
    except DeployerError as exc:
        member.error = str(exc)
    except (ClientError, BotoCoreError) as exc:  # a call outside a change's own handling: the lock, the record, the journal
        member.error = f"AWS call failed: {describe_error(exc)}"


def _parallel(members: list[Member], work: Callable[[Member], None]) -> None:
    """``work`` for each member at once; the first error it raised is raised once every member has finished."""
    if not members:
        return
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_PROJECTS, len(members))) as pool:
        futures = [pool.submit(work, m) for m in members]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]
