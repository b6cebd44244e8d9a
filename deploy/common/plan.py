"""A plan is data: the list of changes that would turn what exists into what is desired.

Printed as a table for people and as JSON for machines, both from the same object. Building a
plan reads AWS; a plan never writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:
    from .kinds.base import Spec

# "conflict": a resource with our name that another project/environment's tags claim; never applied
# unless the user adopts it by name.
Action = Literal["create", "update", "delete", "no-op", "conflict"]
SYMBOLS = {"create": "+", "update": "~", "delete": "-", "no-op": " ", "conflict": "!"}
# The deployer's own record of what it owns: a change of the plan, but not a resource (not counted).
RECORD_KIND = "deployment_record"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, eq=False)
class Change:
    action: Action
    kind: str
    name: str
    component: str = ""
    fields: tuple[FieldChange, ...] = ()
    spec: Spec | None = None
    reason: str = ""
    pin: dict[str, Any] | None = None  # rollback: serve this recorded artifact version again
    # What the plan read (the handler's ``read``, tags and all): the apply writes from it instead of reading again.
    current: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def changed_fields(self) -> list[str]:
        return [f.field for f in self.fields]

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "name": self.name,
            "component": self.component,
            "changed_fields": self.changed_fields,
            "changes": [{"field": f.field, "old": jsonable(f.old), "new": jsonable(f.new)} for f in self.fields],
            **({"reason": self.reason} if self.reason else {}),
            **({"pin": self.pin} if self.pin else {}),
        }


@dataclass
class Plan:
    project: str
    environment: str
    region: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # How to compute this plan again (under the lock, just before applying), and what it is for. Its argument:
    # the keys of changes already applied (the artifact bucket of a first deploy), which it need not read again.
    replan: Callable[[frozenset[str]], "Plan"] | None = field(default=None, repr=False, compare=False)
    operation: str = "deploy"
    dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)  # kept in the record
    about: dict[str, str] = field(default_factory=dict)  # recorded with the history entry, e.g. {"rollback_to": id}
    recorded: list[str] | None = field(default=None, repr=False)  # the record's keys as this plan read them

    def count(self, action: Action) -> int:
        """Resources with this action (the record aside), so the plan's counts are the apply's."""
        return sum(1 for c in self.changes if c.action == action and c.kind != RECORD_KIND)

    @property
    def has_changes(self) -> bool:
        return any(c.action != "no-op" for c in self.changes)

    @property
    def summary_line(self) -> str:
        if not self.has_changes:
            return "No changes. Your infrastructure matches the configuration."
        line = f"Plan: {self.count('create')} to add, {self.count('update')} to change, {self.count('delete')} to destroy."
        if not any(c.kind != RECORD_KIND and c.action != "no-op" for c in self.changes):
            line = line[:-1] + "; only the deployer's record changes."
        conflicts = self.count("conflict")
        return line + (f" {conflicts} conflict{'s' if conflicts > 1 else ''}: owned by someone else, not taken over." if conflicts else "")

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action == "conflict"]

    def comparable(self) -> list[dict[str, Any]]:
        """The changes (no-ops aside) as data: equal for two plans that would do the same."""
        return [c.to_json() for c in self.changes if c.action != "no-op"]

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "environment": self.environment,
            "region": self.region,
            "has_changes": self.has_changes,
            "operation": self.operation,
            "summary": {a: self.count(a) for a in ("create", "update", "delete", "no-op", "conflict")},
            "changes": [c.to_json() for c in self.changes],
            "notes": self.notes,
        }


def check_approved(plan: Plan, approved: dict[str, Any], source: str) -> None:
    """The fresh plan must make exactly the changes a person approved; anything else stops the deploy."""
    from .errors import DeployerError

    def changes(doc: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for c in doc.get("changes", []) if c.get("action") != "no-op"]

    fresh = plan.to_json()
    for key in ("project", "environment", "region"):
        if approved.get(key) != fresh[key]:
            raise DeployerError(f"{source}: {key}: the approved plan is for {approved.get(key)!r}, this deploy is for {fresh[key]!r}")
    ours, theirs = changes(fresh), changes(approved)
    if ours != theirs:
        differing = sorted({(c["kind"], c["name"]) for c in ours if c not in theirs} |
                           {(c["kind"], c["name"]) for c in theirs if c not in ours})
        first = f"{differing[0][0]} {differing[0][1]}" if differing else "the order of changes"
        raise DeployerError(f"{source}: the plan changed since it was approved ({len(differing)} resource(s) differ, "
                            f"first: {first}); plan and approve again")


def diff_fields(current: dict[str, Any], desired: dict[str, Any]) -> tuple[FieldChange, ...]:
    """Fields of ``desired`` whose value differs from ``current`` (missing counts as None)."""
    return tuple(
        FieldChange(name, current.get(name), value) for name, value in desired.items() if current.get(name) != value
    )


def jsonable(value: Any) -> Any:
    """Values as they go into JSON output: bytes never appear, tuples become lists."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value
