"""A project in an environment, ready to plan (``planner.py``, reads only) and apply (``applier.py``, writes)."""
from __future__ import annotations

from .applier import ApplyResult, Applier, EventCallback
from .aws_common import AwsClients
from .history import Provenance
from .kinds.base import ResourceHandler, Spec
from .plan import Change, Plan
from .planner import Planner
from .record import RecordLocation


class Engine:
    """The planner and the applier of one (project, environment, region), over the same clients, kinds and record."""

    def __init__(self, clients: AwsClients, handlers: dict[str, ResourceHandler], record: RecordLocation,
                 region: str, commit: str, provenance: Provenance | None = None,
                 adopt: frozenset[str] = frozenset(), history_retention_days: int | None = None):
        self.clients = clients
        self.handlers = handlers
        self.record = record
        self.region = region
        self.planner = Planner(clients, handlers, record, region, adopt)
        self.applier = Applier(self.planner, commit, provenance, history_retention_days)

    def plan(self, specs: list[Spec]) -> Plan:
        return self.planner.plan(specs)

    def plan_one(self, spec: Spec) -> Change:
        return self.planner.plan_one(spec)

    def apply(self, plan: Plan, on_event: EventCallback | None = None) -> ApplyResult:
        return self.applier.apply(plan, on_event)
