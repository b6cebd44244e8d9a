"""Going back, and seeing how far we are: plans built from a history entry's snapshot.

``rollback_plan``: what it takes to serve again what a past deployment deployed — each Lambda
alias pointed back at the version it served then (no upload; the version keeps that code and
configuration), each Glue script's recorded S3 object version made current again, and every
other resource (state machine definition, job and crawler settings, roles, rules) converged back
to the recorded spec. It is an ordinary plan: shown, confirmed, applied under the lock, and
journalled as its own history entry. What cannot be restored (a function deleted since, so its
versions are gone; an object version no longer kept) is refused by name before anything is done.

``drift``: the live resources compared with the last successful deployment's snapshot, field by field.
"""
from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from .engine import Engine
from .planner import describe_error
from .errors import AwsCallError, DeployerError
from .history import HistoryEntry
from .plan import Change, FieldChange, Plan, diff_fields
from .snapshot import Snapshot
from .record import read_record_state
from .tagging import comparable_tags

PINNED_KINDS = ("lambda_function", "s3_object")  # restored by version, never by re-upload


class RollbackError(DeployerError):
    """The deployment asked for cannot be brought back; the message says what and why."""


def _usable_snapshot(entry: HistoryEntry) -> Snapshot:
    if entry.status != "succeeded":
        raise RollbackError(f"history entry {entry.id} did not succeed ({entry.status}); roll back to one that did "
                            "(see: deploy.py history)")
    snapshot = entry.snapshot
    if snapshot is None:
        raise RollbackError(f"history entry {entry.id} has no snapshot of what it deployed")
    return snapshot


def rollback_plan(engine: Engine, entry: HistoryEntry) -> Plan:
    """The changes that bring back what ``entry`` deployed. Reads only."""
    snapshot = _usable_snapshot(entry)
    plan = Plan(engine.record.project, engine.record.environment, engine.region, operation="rollback",
                about={"rollback_to": entry.id})
    reason = f"rollback to {entry.id}"
    try:
        for key, spec in sorted(snapshot.specs.items()):
            handler = engine.handlers.get(spec.kind)
            if handler is None:
                raise RollbackError(f"{key}: unknown resource kind; cannot restore it")
            pin = snapshot.pins.get(key)
            if spec.kind in PINNED_KINDS:
                plan.changes.append(_pinned_change(engine, spec, pin, reason))
            else:
                change = engine.plan_one(spec)
                plan.changes.append(Change(change.action, change.kind, change.name, change.component, change.fields,
                                           spec, reason if change.action != "no-op" else ""))
    except (ClientError, BotoCoreError) as exc:
        raise AwsCallError(f"reading current state for the rollback failed: {describe_error(exc)}") from None
    recorded, plan.dependencies = read_record_state(engine.clients, engine.record)
    plan.recorded = recorded
    newer = sorted(set(recorded) - set(snapshot.specs))
    plan.notes += [f"{key}: created after {entry.id}; left as it is" for key in newer]
    plan.replan = lambda applied=frozenset(): rollback_plan(engine, entry)
    return plan


def _pinned_change(engine: Engine, spec, pin: dict | None, reason: str) -> Change:
    handler = engine.handlers[spec.kind]
    if pin is None:
        raise RollbackError(f"{spec.key}: the history entry recorded no version of it; cannot restore it")
    if handler.read_tags(spec.name) is None:
        raise RollbackError(f"{spec.key}: deleted since; its recorded version {pin} is gone with it, "
                            "so it cannot be restored (deploy that commit again instead)")
    current = handler.pin(spec) or {}
    # An alias is back when it names the version again; a script when its content is that version's again
    # (making an old S3 version current creates a new version id with the same content).
    same = current == pin if spec.kind == "lambda_function" else not diff_fields(handler.read(spec) or {}, handler.desired(spec))
    if same:
        return Change("no-op", spec.kind, spec.name, spec.component, (), spec)
    version = pin.get("version") or pin.get("version_id")
    if not handler.version_exists(spec, version):
        raise RollbackError(f"{spec.key}: recorded version {version} no longer exists; cannot restore it")
    field = "version" if "version" in pin else "version_id"
    return Change("update", spec.kind, spec.name, spec.component,
                  (FieldChange(field, current.get(field), pin[field]),), spec, reason, pin=pin)


def drift(engine: Engine, entry: HistoryEntry) -> list[Change]:
    """Resources whose live state differs from what ``entry`` deployed (updates field by field, missing as deletes)."""
    snapshot = _usable_snapshot(entry)
    found: list[Change] = []
    try:
        for key, spec in sorted(snapshot.specs.items()):
            handler = engine.handlers[spec.kind]
            live = handler.observed(spec)
            if live is None:
                found.append(Change("delete", spec.kind, spec.name, spec.component, (FieldChange("exists", True, False),),
                                    spec, "deleted outside the deployer"))
                continue
            if "tags" in live:
                live = {**live, "tags": comparable_tags(live["tags"])}
            fields = diff_fields(live, handler.desired_with_tags(spec))
            pin = snapshot.pins.get(key)
            if pin and spec.kind == "lambda_function":  # the version the alias serves (a script's content is its sha256)
                current_pin = handler.pin(spec) or {}
                if current_pin != pin:
                    fields += tuple(FieldChange(f, current_pin.get(f), v) for f, v in pin.items())
            if fields:
                # old = what was deployed, new = what is live now
                found.append(Change("update", spec.kind, spec.name, spec.component,
                                    tuple(FieldChange(f.field, f.new, f.old) for f in fields), spec, "changed outside the deployer"))
    except (ClientError, BotoCoreError) as exc:
        raise AwsCallError(f"reading current state for drift failed: {describe_error(exc)}") from None
    return found
