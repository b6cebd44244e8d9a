"""Plan (reads only) and apply (writes), over the specs a project builds.

Plan: read every desired resource, diff it, and find what the record lists but the project no
longer wants. Apply: run the plan's changes in dependency order, independent ones in parallel,
stop at the first hard failure, then update the record so a re-run converges.
"""
from __future__ import annotations

import graphlib
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from . import retry
from .aws_common import AwsClients, error_code
from .errors import AwsCallError, ConflictError, DeployerError, ProjectError, StalePlanError
from .history import Journal, Provenance, new_entry_id
from .plan import RECORD_KIND, Change, FieldChange, Plan, diff_fields
from .kinds.base import ResourceHandler, Spec, resource_key
from .kinds.s3_bucket import BucketSpec
from .snapshot import Snapshot
from .state import (
    RecordLocation, acquire_lock, describe_lock, read_lock, read_record, read_record_state, release_lock, write_record,
)
from .tagging import ENVIRONMENT_TAG, PROJECT_TAG, comparable_tags, is_owned_by

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


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, DeployerError):
        return str(exc)
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


class Engine:
    def __init__(self, clients: AwsClients, handlers: dict[str, ResourceHandler], record: RecordLocation,
                 region: str, commit: str, max_workers: int = 4, provenance: Provenance | None = None,
                 adopt: frozenset[str] = frozenset(), history_retention_days: int | None = None):
        self.clients = clients
        self.handlers = handlers
        self.record = record
        self.region = region
        self.commit = commit
        self.max_workers = max_workers
        self.provenance = provenance or Provenance(commit=commit)
        self.adopt = adopt  # 'kind:name' keys the user allows us to take over from another owner
        self.history_retention_days = history_retention_days  # Object Lock on history objects, when configured

    # ---- plan -------------------------------------------------------------------------------
    def plan(self, specs: list[Spec]) -> Plan:
        # Dependencies on what another part of the run deploys (the shared resources) were checked by prepare.
        check_specs(specs, self.handlers, provided={d for s in specs for d in s.depends_on})
        plan = Plan(project=self.record.project, environment=self.record.environment, region=self.region)
        try:
            with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
                plan.changes.extend(pool.map(self._plan_one, specs))
            for kind, handler in self.handlers.items():
                handler.preflight([c for c in plan.changes if c.kind == kind])
            recorded, recorded_dependencies = read_record_state(self.clients, self.record)
            kept = self._plan_removals(plan, recorded, {s.key for s in specs})
            holder = read_lock(self.clients, self.record)
            if holder:
                plan.notes.append(describe_lock(self.record, holder))
        except (ClientError, BotoCoreError) as exc:
            raise AwsCallError(f"reading current state failed: {describe_error(exc)}") from None
        owned = {s.key for s in specs if s.tags.get(PROJECT_TAG) == self.record.project}  # shared specs are not ours
        new_record = sorted(owned | set(kept))
        # What each resource depends on, kept in the record: a removal later deletes in the reverse order.
        plan.dependencies = {**{k: v for k, v in recorded_dependencies.items() if k in kept},
                             **{s.key: tuple(s.depends_on) for s in specs if s.key in owned}}
        graph_changed = _graph(new_record, plan.dependencies) != _graph(recorded, recorded_dependencies)
        if new_record != recorded or graph_changed:
            fields = [FieldChange("resources", recorded or None, new_record)]
            if graph_changed:
                fields.append(FieldChange("depends_on", _graph(recorded, recorded_dependencies) or None,
                                          _graph(new_record, plan.dependencies)))
            plan.changes.append(Change("update" if recorded else "create", RECORD_KIND, self.record.record_key,
                                       fields=tuple(fields)))
        plan.replan = lambda: self.plan(specs)
        return plan

    def _plan_one(self, spec: Spec) -> Change:
        handler = self.handlers[spec.kind]
        desired = handler.desired_with_tags(spec)
        try:
            current = handler.read(spec)
        except (ClientError, BotoCoreError) as exc:
            raise AwsCallError(f"reading {spec.kind} '{spec.name}' failed: {describe_error(exc)}") from None
        if current is None:
            return Change("create", spec.kind, spec.name, spec.component,
                          tuple(FieldChange(k, None, v) for k, v in desired.items()), spec)
        owner = _owner(current.get("tags"))
        if owner and owner != _owner(spec.tags):
            if spec.key not in self.adopt:
                return Change("conflict", spec.kind, spec.name, spec.component, (), spec,
                              reason=f"exists, owned by {'/'.join(owner)}; deploy with --adopt {spec.key} to take it over")
        if "tags" in current:
            current = {**current, "tags": comparable_tags(current["tags"])}
        fields = diff_fields(current, desired)
        return Change("update" if fields else "no-op", spec.kind, spec.name, spec.component, fields, spec)

    def _plan_removals(self, plan: Plan, recorded: list[str], wanted: set[str]) -> list[str]:
        """Add deletions for recorded resources no longer wanted; return the recorded keys to keep."""
        kept: list[str] = []
        for key in recorded:
            if key in wanted:
                continue
            kind, _, name = key.partition(":")
            handler = self.handlers.get(kind)
            if handler is None:
                plan.notes.append(f"{key}: unknown resource kind in the record; left alone")
                continue
            tags = handler.read_tags(name)
            if tags is None:
                plan.notes.append(f"{key}: recorded but already gone; dropped from the record")
            elif not is_owned_by(tags, self.record.project, self.record.environment):
                plan.notes.append(f"{key}: recorded but its tags do not show this project/environment as owner; not deleted")
            elif handler.retained_on_removal:
                plan.notes.append(f"{key}: no longer in the project but retained (holds data); delete it by hand if intended")
            else:
                plan.changes.append(Change("delete", kind, name, tags.get("deployer:component", ""),
                                           (FieldChange("exists", True, False),), reason="removed from the project"))
                kept.append(key)  # dropped from the record once the delete succeeds
        return kept

    # ---- apply ------------------------------------------------------------------------------
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
            journal.started(plan.operation, self.provenance, plan.to_json(), self.clients.identity.get("Arn", ""), **plan.about)
            for outcome in result.outcomes:
                journal.change(_journal_entry(outcome))
            try:
                self._check_unchanged(plan, applied=first)
            except StalePlanError as exc:
                journal.finished("refused", {}, None, str(exc))
                raise
            self._record_intent(plan, entry_id)
            self._apply_changes(plan, result, emit, journal, first)
            self._write_record(plan, result, entry_id)
            snapshot = self._snapshot(plan) if result.ok else None
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

    def _check_unchanged(self, plan: Plan, applied: list[Change]) -> None:
        """The plan computed again under the lock must make the same changes (the artifact bucket aside)."""
        if plan.replan is None:
            return
        done = {c.key for c in applied}
        before = [c for c in plan.comparable() if f"{c['kind']}:{c['name']}" not in done]
        after = [c for c in plan.replan().comparable() if f"{c['kind']}:{c['name']}" not in done]
        if before != after:
            differing = [c for c in before if c not in after] + [c for c in after if c not in before]
            raise StalePlanError(
                f"what exists changed since this plan was made ({len(differing)} change(s) differ, first: "
                f"{differing[0]['kind']} {differing[0]['name']}); another deployment? nothing was applied: plan again")

    def _owned_creates(self, plan: Plan) -> set[str]:
        return {c.key for c in plan.changes if c.action == "create" and c.kind != RECORD_KIND and c.spec is not None
                and c.spec.tags.get(PROJECT_TAG) == self.record.project}

    def _record_intent(self, plan: Plan, entry_id: str) -> None:
        """Before creating anything, list it in the record: a kill half-way leaves every new resource owned."""
        creates = self._owned_creates(plan)
        if creates:
            recorded = read_record(self.clients, self.record)
            write_record(self.clients, self.record, [*recorded, *creates], self.commit, "applying", entry_id, plan.dependencies)

    def _apply_changes(self, plan: Plan, result: ApplyResult, emit: EventCallback, journal: Journal,
                       applied: list[Change]) -> None:
        def journalled(kind: str, change: Change, detail: Outcome | str | None) -> None:
            if kind == "end" and isinstance(detail, Outcome):
                journal.change(_journal_entry(detail))
            emit(kind, change, detail)

        work = [c for c in plan.changes if c.action in ("create", "update") and c.kind != RECORD_KIND and c not in applied]
        self._run_graph(work, result, journalled, lambda c: c.spec.depends_on if c.spec else ())
        deletes = [c for c in plan.changes if c.action == "delete"]
        if result.ok and deletes:
            users = reverse_dependencies([c.key for c in deletes], plan.dependencies)
            self._run_graph(deletes, result, journalled, lambda c: users[c.key])

    def _snapshot(self, plan: Plan) -> Snapshot:
        """Every spec of the plan and the artifact versions live now (reads; only after an apply that changed something)."""
        specs = {c.spec.key: c.spec for c in plan.changes if c.spec is not None and c.action != "delete"}
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            pins = dict(zip(specs, pool.map(lambda s: self.handlers[s.kind].pin(s), specs.values())))
        return Snapshot(specs, {k: v for k, v in pins.items() if v})

    def _run_graph(self, changes: list[Change], result: ApplyResult, emit: EventCallback,
                   after: Callable[[Change], Iterable[str]]) -> None:
        """Run ``changes``, each once the ones it comes ``after`` are done, independent ones in parallel."""
        by_key = {c.key: c for c in changes}
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for change in changes:
            sorter.add(change.key, *(d for d in after(change) if d in by_key))
        sorter.prepare()
        failed = False
        running: dict[Future, Change] = {}
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            while sorter.is_active() and not failed:
                for key in sorter.get_ready():
                    running[pool.submit(self._execute, by_key[key], emit)] = by_key[key]
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
            for future in wait(running).done:  # let in-flight work finish; start nothing new
                result.outcomes.append(future.result())
        started = {o.change.key for o in result.outcomes}
        for change in changes:
            if change.key not in started:
                result.outcomes.append(Outcome(change, "skipped", error="not started: an earlier change failed"))

    def _execute(self, change: Change, emit: EventCallback) -> Outcome:
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
                    handler.update(change.spec, change.fields)
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
            adopted = self._plan_one(spec)
            if adopted.action == "update":
                handler.update(spec, adopted.fields)

    def _write_record(self, plan: Plan, result: ApplyResult, entry_id: str) -> None:
        """Record what we own now. After success: every wanted resource plus recorded ones whose deletion did
        not happen. After a failure: the intent (what was owned plus what this apply may have created)."""
        deleted = {o.change.key for o in result.outcomes if o.change.action == "delete" and o.status == "done"}
        record_change = next((c for c in plan.changes if c.kind == RECORD_KIND), None)
        if result.ok and record_change is None and not deleted and not self._owned_creates(plan):
            return
        target = record_change.fields[0].new if result.ok and record_change else read_record(self.clients, self.record)
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


def _graph(keys: list[str], dependencies: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """The dependencies among ``keys``, as the record stores them."""
    listed = set(keys)
    graph = {k: sorted(d for d in dependencies.get(k, ()) if d in listed) for k in sorted(listed)}
    return {k: v for k, v in graph.items() if v}


def _owner(tags: dict[str, str] | None) -> tuple[str, str] | None:
    """(project, environment) an ownership-tagged resource names, or None when it carries no ownership tags."""
    tags = tags or {}
    return (tags[PROJECT_TAG], tags.get(ENVIRONMENT_TAG, "")) if PROJECT_TAG in tags else None


def _journal_entry(outcome: Outcome) -> dict:
    return {"key": outcome.change.key, "action": outcome.change.action, "status": outcome.status,
            "seconds": round(outcome.seconds, 2), **({"error": outcome.error} if outcome.error else {}),
            **({"pin": outcome.change.pin} if outcome.change.pin else {})}


def is_already_exists(exc: ClientError) -> bool:
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    return code in ALREADY_EXISTS or (code == "ResourceConflictException" and "already exist" in message)


def check_specs(specs: list[Spec], kinds: Iterable[str], provided: Iterable[str] = ()) -> None:
    """Definitions must be consistent before anything is read or written (``provided``: keys another part of
    the run deploys, which specs may depend on)."""
    known = set(kinds)
    seen: set[str] = set()
    for spec in specs:
        if spec.kind not in known:
            raise ProjectError(f"{spec.key}: no handler for resource kind '{spec.kind}'")
        if spec.key in seen:
            raise ProjectError(f"{spec.key}: defined twice")
        seen.add(spec.key)
    available = seen | set(provided)
    for spec in specs:
        for dep in spec.depends_on:
            if dep not in available:
                raise ProjectError(f"{spec.key}: depends on {dep}, which the project does not define")
    sorter = graphlib.TopologicalSorter({s.key: [d for d in s.depends_on if d in seen] for s in specs})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise ProjectError(f"dependency cycle between resources: {' -> '.join(exc.args[1])}") from None


__all__ = ["Engine", "ApplyResult", "Outcome", "RECORD_KIND", "check_specs", "resource_key"]
