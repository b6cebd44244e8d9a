"""Plan: read every desired resource, diff it with what the project wants, and find what the record lists
but the project no longer wants. Reads only; never writes.
"""
from __future__ import annotations

import graphlib
from typing import Any, Iterable

from botocore.exceptions import BotoCoreError, ClientError

from .aws_common import AwsClients
from .errors import AwsCallError, DeployerError, ProjectError
from .kinds.base import ResourceHandler, Spec
from .lock import describe_lock, read_lock
from .plan import RECORD_KIND, Change, FieldChange, Plan, diff_fields
from .record import RecordLocation, read_record_state
from .tagging import ENVIRONMENT_TAG, PROJECT_TAG, comparable_tags, is_owned_by


def describe_error(exc: BaseException) -> str:
    """One line for an AWS error (its code and message) or a deployer error."""
    if isinstance(exc, DeployerError):
        return str(exc)
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


class Planner:
    def __init__(self, clients: AwsClients, handlers: dict[str, ResourceHandler], record: RecordLocation, region: str,
                 adopt: frozenset[str] = frozenset()):
        self.clients = clients  # and its workers: every spec is read at once, up to the clients' max_in_flight
        self.handlers = handlers
        self.record = record
        self.region = region
        self.adopt = adopt  # 'kind:name' keys the user allows us to take over from another owner

    def plan(self, specs: list[Spec], unread: frozenset[str] = frozenset(), locked: bool = False) -> Plan:
        """``unread``: keys of specs not to read (the applier's replan: what it applied before taking the lock);
        their change is a no-op here, and only there to keep the plan's shape. ``locked``: planned again under this
        run's own lock, which is then not read (we hold it)."""
        # Dependencies on what another part of the run deploys (the shared resources) were checked by prepare.
        check_specs(specs, self.handlers, provided={d for s in specs for d in s.depends_on})
        plan = Plan(project=self.record.project, environment=self.record.environment, region=self.region)
        try:
            # Everything is read at once: the record and the lock beside the resources, not after them.
            record_state = self.clients.submit(read_record_state, self.clients, self.record)
            holder = None if locked else self.clients.submit(read_lock, self.clients, self.record)
            currents = self.read_all([s for s in specs if s.key not in unread])
            plan.changes.extend(self._not_read(s) if s.key in unread else self.diff_one(s, currents[s.key]) for s in specs)
            for kind, handler in self.handlers.items():
                handler.preflight([c for c in plan.changes if c.kind == kind])
            recorded, recorded_dependencies = record_state.result()
            kept = self._plan_removals(plan, recorded, {s.key for s in specs})
            if holder is not None and holder.result():
                plan.notes.append(describe_lock(self.record, holder.result()))
        except (ClientError, BotoCoreError) as exc:
            raise AwsCallError(f"reading current state failed: {describe_error(exc)}") from None
        plan.recorded = recorded
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
        plan.replan = lambda applied=frozenset(): self.plan(specs, unread=applied, locked=True)
        return plan

    @staticmethod
    def _not_read(spec: Spec) -> Change:
        return Change("no-op", spec.kind, spec.name, spec.component, (), spec, reason="not read again")

    def read_all(self, specs: list[Spec]) -> dict[str, dict[str, Any] | None]:
        """What exists of every spec, by key: a batched kind's specs in one ``read_many``, the others one by one, all
        at once on the clients' workers."""
        units: list[list[Spec]] = []
        batches: dict[str, list[Spec]] = {}
        for spec in specs:
            if self.handlers[spec.kind].batched:
                batches.setdefault(spec.kind, []).append(spec)
            else:
                units.append([spec])
        units[:0] = batches.values()

        found = self.clients.map(self.read_unit, units)
        return {spec.key: current for unit, currents in zip(units, found) for spec, current in zip(unit, currents)}

    def read_unit(self, unit: list[Spec]) -> list[dict[str, Any] | None]:
        """What exists of ``unit``: one spec's ``read``, or a batched kind's specs in one ``read_many``."""
        handler = self.handlers[unit[0].kind]
        try:
            return handler.read_many(unit) if len(unit) > 1 else [handler.read(unit[0])]
        except (ClientError, BotoCoreError) as exc:
            what = f"'{unit[0].name}'" if len(unit) == 1 else f"'{unit[0].name}' and {len(unit) - 1} more"
            raise AwsCallError(f"reading {unit[0].kind} {what} failed: {describe_error(exc)}") from None

    def plan_one(self, spec: Spec) -> Change:
        return self.diff_one(spec, self.read_unit([spec])[0])

    def diff_one(self, spec: Spec, current: dict[str, Any] | None) -> Change:
        """The change that turns ``current`` (what ``read`` found) into ``spec``; it carries ``current`` to the apply."""
        desired = self.handlers[spec.kind].desired_with_tags(spec)
        if current is None:
            return Change("create", spec.kind, spec.name, spec.component,
                          tuple(FieldChange(k, None, v) for k, v in desired.items()), spec)
        owner = _owner(current.get("tags"))
        if owner and owner != _owner(spec.tags):
            if spec.key not in self.adopt:
                return Change("conflict", spec.kind, spec.name, spec.component, (), spec,
                              reason=f"exists, owned by {'/'.join(owner)}; deploy with --adopt {spec.key} to take it over")
        comparable = {**current, "tags": comparable_tags(current["tags"])} if "tags" in current else current
        fields = diff_fields(comparable, desired)
        return Change("update" if fields else "no-op", spec.kind, spec.name, spec.component, fields, spec, current=current)

    def _plan_removals(self, plan: Plan, recorded: list[str], wanted: set[str]) -> list[str]:
        """Add deletions for recorded resources no longer wanted; return the recorded keys to keep."""
        kept: list[str] = []
        gone = [key for key in recorded if key not in wanted]
        known = [key for key in gone if key.partition(":")[0] in self.handlers]
        found = dict(zip(known, self.clients.map(self.removal_tags, known)))  # each one's tags, read at once
        for key in gone:
            kind, _, name = key.partition(":")
            handler = self.handlers.get(kind)
            if handler is None:
                plan.notes.append(f"{key}: unknown resource kind in the record; left alone")
                continue
            tags = found[key]
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

    def removal_tags(self, key: str) -> dict[str, str] | None:
        """The tags of a recorded resource the project no longer defines (None: it is gone)."""
        kind, _, name = key.partition(":")
        return self.handlers[kind].read_tags(name)


def _graph(keys: list[str], dependencies: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """The dependencies among ``keys``, as the record stores them."""
    listed = set(keys)
    graph = {k: sorted(d for d in dependencies.get(k, ()) if d in listed) for k in sorted(listed)}
    return {k: v for k, v in graph.items() if v}


def _owner(tags: dict[str, str] | None) -> tuple[str, str] | None:
    """(project, environment) an ownership-tagged resource names, or None when it carries no ownership tags."""
    tags = tags or {}
    return (tags[PROJECT_TAG], tags.get(ENVIRONMENT_TAG, "")) if PROJECT_TAG in tags else None


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
