"""Apply: run a plan's changes in dependency order, independent ones in parallel, under the lock and
journalled in the history; stop at the first hard failure, then update the record so a re-run converges.
"""
from __future__ import annotations

import graphlib
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from . import retry
from .aws_common import error_code
from .errors import AwsCallError, ConflictError, DeployerError, StalePlanError
from .history import Journal, Provenance, new_entry_id
from .kinds.base import ResourceHandler
from .kinds.s3_bucket import BucketSpec
from .lock import acquire_lock, release_lock
from .plan import RECORD_KIND, Change, Plan
from .planner import Planner, describe_error
from .record import read_record, write_record
from .snapshot import Snapshot
from .tagging import ENVIRONMENT_TAG, PROJECT_TAG, is_owned_by

# What a create answers when the resource is already there: e.g. a first attempt that AWS carried out
# but whose answer was lost (a read timeout), retried by botocore.
ALREADY_EXISTS = frozenset({"EntityAlreadyExists", "AlreadyExistsException", "IdempotentParameterMismatchException",
                            "StateMachineAlreadyExists", "ResourceAlreadyExistsException", "BucketAlreadyOwnedByYou"})

Status = Literal["done", "failed", "skipped"]


@dataclass
class Outcome:
    change: Change
    status: Status
    seconds: float = 0.0
    error: str = ""


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    history_id: str = ""  # the history entry this apply wrote
    lock_left: tuple[str, str] | None = None  # (lock id, why) when the lock could not be released

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "history_id": self.history_id,
            "results": [{**o.change.to_json(), "status": o.status, "seconds": round(o.seconds, 2),
                         **({"error": o.error} if o.error else {})} for o in self.outcomes],
            **({"lock_left": {"lock_id": self.lock_left[0], "error": self.lock_left[1]}} if self.lock_left else {}),
        }


# (kind, change, detail): "start" (None), "wait" (what is being waited for, a str), "end" (the Outcome).
EventCallback = Callable[[str, Change, "Outcome | str | None"], None]


class Applier:
    def __init__(self, planner: Planner, commit: str, provenance: Provenance | None = None,
                 history_retention_days: int | None = None):
        self.planner = planner  # plans again under the lock, and adopts what a lost create left
        self.clients = planner.clients
        self.handlers = planner.handlers
        self.record = planner.record
        self.commit = commit
        self.provenance = provenance or Provenance(commit=commit)
        self.history_retention_days = history_retention_days  # Object Lock on history objects, when configured

    def apply(self, plan: Plan, on_event: EventCallback | None = None) -> ApplyResult:
        """Apply the plan under the lock, journalled in history.

        Under the lock the plan is computed again and must be the same: a plan made before another
        deployment's changes is never applied (StalePlanError, nothing written but the lock).
        What is about to be created is recorded first, so a killed apply leaves nothing unowned.
        """
        emit = on_event or (lambda *_: None)
        result = ApplyResult()
        if not plan.has_changes:
            return result
        if plan.conflicts:
            first = plan.conflicts[0]
            raise ConflictError(f"{first.kind} {first.name}: {first.reason}; nothing was changed"
                                + (f" ({len(plan.conflicts)} conflicts)" if len(plan.conflicts) > 1 else ""))
        entry_id = new_entry_id()
        # The artifact bucket holds the lock, the record and the history, so a first deploy creates it before locking.
        first = [c for c in plan.changes if c.action == "create" and isinstance(c.spec, BucketSpec) and c.name == self.record.bucket]
        if first:
            self._run_graph(first, result, emit, lambda c: ())
            if not result.ok:
                return result
        lock_id = acquire_lock(self.clients, self.record, plan.operation, entry_id)
        try:
            journal = Journal(self.clients, self.record, entry_id, self.history_retention_days)
            fresh = self._begin(plan, journal, first, result.outcomes)
            # What the plan under the lock read is what the apply writes from: nothing is read twice (what was applied
            # before the lock, the artifact bucket, is not read again: the first plan's reads stand for it).
            current = {c.key: c.current for c in plan.changes}
            if fresh is not None:
                done = {c.key for c in first}
                current.update({c.key: c.current for c in fresh.changes if c.key not in done})
            recorded = self._record_intent(plan, entry_id, fresh.recorded if fresh else None)
            self._apply_changes(plan, result, emit, journal, first, current)
            snapshot = self._settle(plan, result, entry_id, recorded, current)
            counts = {a: sum(1 for o in result.outcomes if o.status == "done" and o.change.action == a)
                      for a in ("create", "update", "delete")}
            journal.finished("succeeded" if result.ok else "failed", counts, snapshot,
                             "" if result.ok else f"{result.failed[0].change.key}: {result.failed[0].error}")
            result.history_id = entry_id
        finally:
            try:
                release_lock(self.clients, self.record, lock_id)
            except (ClientError, BotoCoreError, DeployerError) as exc:
                result.lock_left = (lock_id, describe_error(exc))
        return result

    def _begin(self, plan: Plan, journal: Journal, applied: list[Change], outcomes: list[Outcome]) -> Plan | None:
        """Under the lock: the history entry's start is written while the plan is computed again (each needs only
        the lock). Returns the plan as computed again (None when it cannot be)."""
        started = self.clients.submit(self._start_entry, journal, plan, outcomes)
        try:
            fresh = self._check_unchanged(plan, applied)
        except StalePlanError as exc:
            started.result()
            journal.finished("refused", {}, None, str(exc))
            raise
        except BaseException:
            wait([started])
            raise
        started.result()
        return fresh

    def _settle(self, plan: Plan, result: ApplyResult, entry_id: str, recorded: list[str],
                current: dict[str, dict | None]) -> Snapshot | None:
        """After the changes, the record and (after a success) the snapshot's reads at once: neither needs the other."""
        written = self.clients.submit(self._write_record, plan, result, entry_id, recorded)
        try:
            return self._snapshot(plan, result, current) if result.ok else None
        finally:
            written.result()

    def _start_entry(self, journal: Journal, plan: Plan, outcomes: list[Outcome]) -> None:
        journal.started(plan.operation, self.provenance, plan.to_json(), self.clients.identity.get("Arn", ""), **plan.about)
        for outcome in outcomes:
            journal.change(_journal_entry(outcome))

    def _check_unchanged(self, plan: Plan, applied: list[Change]) -> Plan | None:
        """The plan computed again under the lock must make the same changes (the artifact bucket aside); it is
        returned, for what it read (None when the plan cannot be computed again)."""
        if plan.replan is None:
            return None
        done = frozenset(c.key for c in applied)
        fresh = plan.replan(done)
        before = [c for c in plan.comparable() if f"{c['kind']}:{c['name']}" not in done]
        after = [c for c in fresh.comparable() if f"{c['kind']}:{c['name']}" not in done]
        if before != after:
            differing = [c for c in before if c not in after] + [c for c in after if c not in before]
            raise StalePlanError(
                f"what exists changed since this plan was made ({len(differing)} change(s) differ, first: "
                f"{differing[0]['kind']} {differing[0]['name']}); another deployment? nothing was applied: plan again")
        return fresh

    def _owned_creates(self, plan: Plan) -> set[str]:
        return {c.key for c in plan.changes if c.action == "create" and c.kind != RECORD_KIND and c.spec is not None
                and c.spec.tags.get(PROJECT_TAG) == self.record.project}

    def _record_intent(self, plan: Plan, entry_id: str, recorded: list[str] | None) -> list[str]:
        """Before creating anything, list it in the record: a kill half-way leaves every new resource owned. Returns
        what the record lists now. ``recorded``: the record as read under the lock (None: read it now)."""
        creates = self._owned_creates(plan)
        if recorded is None:
            recorded = read_record(self.clients, self.record)
        if creates:
            recorded = sorted({*recorded, *creates})
            write_record(self.clients, self.record, recorded, self.commit, "applying", entry_id, plan.dependencies)
        return recorded

    def _apply_changes(self, plan: Plan, result: ApplyResult, emit: EventCallback, journal: Journal,
                       applied: list[Change], current: dict[str, dict | None]) -> None:
        written: list[Future] = []

        def journalled(kind: str, change: Change, detail: Outcome | str | None) -> None:
            if kind == "end" and isinstance(detail, Outcome):
                # Written beside the next changes: what depends on this change need not wait for its journal entry.
                written.append(self.clients.submit(journal.change, _journal_entry(detail)))
            emit(kind, change, detail)

        try:
            work = [c for c in plan.changes if c.action in ("create", "update") and c.kind != RECORD_KIND and c not in applied]
            self._run_graph(work, result, journalled, lambda c: c.spec.depends_on if c.spec else (), current)
            deletes = [c for c in plan.changes if c.action == "delete"]
            if result.ok and deletes:
                users = reverse_dependencies([c.key for c in deletes], plan.dependencies)
                self._run_graph(deletes, result, journalled, lambda c: users[c.key])
        finally:
            for future in wait(written).done:  # every entry is written (or has failed) before the apply goes on
                future.result()

    def _snapshot(self, plan: Plan, result: ApplyResult, current: dict[str, dict | None]) -> Snapshot:
        """Every spec of the plan and the artifact versions live now: of what the apply changed, read now; of the
        rest, from what the plan under the lock read where that shows the version (a Lambda alias's, ...)."""
        specs = {c.spec.key: c.spec for c in plan.changes if c.spec is not None and c.action != "delete"}
        touched = {o.change.key for o in result.outcomes}
        known = {k: None if k in touched else current.get(k) for k in specs}
        pins = dict(zip(specs, self.clients.map(lambda s: self.handlers[s.kind].pin(s, known[s.key]), specs.values())))
        return Snapshot(specs, {k: v for k, v in pins.items() if v})

    def _run_graph(self, changes: list[Change], result: ApplyResult, emit: EventCallback,
                   after: Callable[[Change], Iterable[str]], current: dict[str, dict | None] | None = None) -> None:
        """Run ``changes``, each once the ones it comes ``after`` are done, independent ones in parallel (on the
        clients' workers: as many at once as are ready, up to their max_in_flight); ``current``: what the plan under
        the lock read of each, which the handlers write from."""
        by_key = {c.key: c for c in changes}
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for change in changes:
            sorter.add(change.key, *(d for d in after(change) if d in by_key))
        sorter.prepare()
        failed = False
        running: dict[Future, Change] = {}
        try:
            while sorter.is_active() and not failed:
                for key in sorter.get_ready():
                    running[self.clients.submit(self._execute, by_key[key], emit, (current or {}).get(key))] = by_key[key]
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    outcome = future.result()
                    result.outcomes.append(outcome)
                    if outcome.status == "failed":
                        failed = True
                    else:
                        sorter.done(outcome.change.key)
        finally:
            wait(running)  # after a failure, and behind any error: in-flight work finishes (the lock outlives it)
        for future in running:  # start nothing new
            result.outcomes.append(future.result())
        started = {o.change.key for o in result.outcomes}
        for change in changes:
            if change.key not in started:
                result.outcomes.append(Outcome(change, "skipped", error="not started: an earlier change failed"))

    def _execute(self, change: Change, emit: EventCallback, current: dict | None = None) -> Outcome:
        handler = self.handlers[change.kind]
        emit("start", change, None)
        started = time.monotonic()
        try:
            with retry.reporting(lambda message: emit("wait", change, message)):
                if change.action == "create":
                    self._create(handler, change)
                elif change.pin is not None:
                    handler.restore(change.spec, change.pin)
                elif change.action == "update":
                    handler.update(change.spec, change.fields, current)
                else:
                    handler.delete(change.name)
            outcome = Outcome(change, "done", time.monotonic() - started)
        except (ClientError, BotoCoreError, WaiterError, AwsCallError) as exc:
            outcome = Outcome(change, "failed", time.monotonic() - started, describe_error(exc))
        emit("end", change, outcome)
        return outcome

    def _create(self, handler: ResourceHandler, change: Change) -> None:
        """Create; if AWS says it already exists and its tags say it is ours, adopt it and converge it instead."""
        try:
            handler.create(change.spec)
        except ClientError as exc:
            if not is_already_exists(exc):
                raise
            spec = change.spec
            tags = handler.read_tags(spec.name) or {}
            ours = is_owned_by(tags, spec.tags.get(PROJECT_TAG, ""), spec.tags.get(ENVIRONMENT_TAG, ""))
            untagged_own_bucket = error_code(exc) == "BucketAlreadyOwnedByYou" and PROJECT_TAG not in tags
            if not (ours or untagged_own_bucket):
                owner = "/".join(tags.get(k, "?") for k in (PROJECT_TAG, ENVIRONMENT_TAG))
                raise AwsCallError(f"{change.kind} {change.name} already exists and is not ours (owner tags: {owner}); "
                                   "remove it or choose another name in the config") from None
            retry.report(f"already exists ({error_code(exc)}) and is ours: adopting it")
            adopted = self.planner.plan_one(spec)
            if adopted.action == "update":
                handler.update(spec, adopted.fields, adopted.current)

    def _write_record(self, plan: Plan, result: ApplyResult, entry_id: str, recorded: list[str]) -> None:
        """Record what we own now. After success: every wanted resource plus recorded ones whose deletion did
        not happen. After a failure: the intent (what was owned plus what this apply may have created).
        ``recorded``: what the record lists now (read under the lock, with the intent written since)."""
        deleted = {o.change.key for o in result.outcomes if o.change.action == "delete" and o.status == "done"}
        record_change = next((c for c in plan.changes if c.kind == RECORD_KIND), None)
        if result.ok and record_change is None and not deleted and not self._owned_creates(plan):
            return
        target = record_change.fields[0].new if result.ok and record_change else recorded
        write_record(self.clients, self.record, [k for k in target if k not in deleted], self.commit, "settled", entry_id,
                     plan.dependencies)


def reverse_dependencies(keys: list[str], dependencies: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """For deleting ``keys``: each one after everything among them that depends on it (the dependency graph reversed)."""
    users: dict[str, list[str]] = {k: [] for k in keys}
    for key in keys:
        for dependency in dependencies.get(key, ()):
            if dependency in users:
                users[dependency].append(key)
    return users


def _journal_entry(outcome: Outcome) -> dict:
    return {"key": outcome.change.key, "action": outcome.change.action, "status": outcome.status,
            "seconds": round(outcome.seconds, 2), **({"error": outcome.error} if outcome.error else {}),
            **({"pin": outcome.change.pin} if outcome.change.pin else {})}


def is_already_exists(exc: ClientError) -> bool:
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    return code in ALREADY_EXISTS or (code == "ResourceConflictException" and "already exist" in message)
