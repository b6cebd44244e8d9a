#!/usr/bin/env python3
"""Is the engine bound by AWS's latency or by its own CPU? fpac's first deploy and a no-op plan, with each
AWS request answered 50 ms later, against their critical path.

Each is timed as the CLI runs it after ``prepare``: connect (clients, the account guard's STS call), plan,
and for the deploy apply.

A private local AWS (realism off, ``call_latency_ms``) on loopback. The critical path is the longest chain
of AWS calls that must follow one another in the engine's design: a call made outside any parallel work
counts whole (the STS call, taking the lock, the record's intent, the journal's end, the release); a
section of parallel work counts its longest chain of lanes, each lane weighted by the calls it made (a
plan: every resource's reads, the record's and the lock's; under the lock: the entry's start beside the
replan; an apply: the changes along the dependency graph, each journal entry after its change; then the
record beside the snapshot's reads). Times the latency, that is the wall time with unlimited workers
and no CPU cost. The ratio wall / critical path says how close to latency-bound a run is; the
critical path itself (in calls) says how much the design leaves to wait. Prints figures; asserts
nothing beyond the deploy succeeding and the plan after it being empty.

    .venv/bin/python benchmarks/latency_bound.py [--latency-ms 50] [--rounds 5] [--warmup 1] [--timeline] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.common import retry  # noqa: E402
from deploy.common.applier import Applier  # noqa: E402
from deploy.common.aws_common import AwsClients, AwsTarget, CallLog  # noqa: E402
from deploy.common.planner import Planner  # noqa: E402
from deploy.common.preparation import connect, prepare  # noqa: E402
from deploy.local_aws.admin import request_stats, reset_local_aws, set_realism  # noqa: E402
from scratch import private_server, scratch_folder  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "config" / "local.json"
REGION = "us-east-2"


# --- the critical path, from the calls each part of the run made -----------------------------------------------

@dataclass
class Section:
    """One part of the run whose work goes on at once: the calls of each lane (a resource's reads or change, the
    record's read, a journal entry...) and what each lane waits for (``after``)."""

    name: str
    lanes: Counter = field(default_factory=Counter)
    after: dict[str, list[str]] = field(default_factory=dict)
    owner: int = 0  # the thread that runs the section: its own calls follow one another (serial), lanes run on workers
    seconds: float = 0.0  # how long the section took
    cpu: tuple[float, float] = (0.0, 0.0)  # CPU seconds meanwhile: ours, the server's
    _longest: dict[str, int] = field(default_factory=dict)

    def length(self) -> int:
        """Calls along the longest chain of lanes."""
        self._longest = {}

        def chain(key: str) -> int:
            if key not in self._longest:
                self._longest[key] = self.lanes.get(key, 0) + max((chain(d) for d in self.after.get(key, ())), default=0)
            return self._longest[key]

        return max((chain(k) for k in {*self.lanes, *self.after}), default=0)

    def busiest(self) -> str:
        """The lanes of the longest chain, each with its calls."""
        self.length()
        path, key = [], max(self._longest, key=self._longest.__getitem__)
        while key is not None:
            path.append(f"{key}: {self.lanes.get(key, 0)}")
            key = max(self.after.get(key, ()), key=lambda k: self._longest[k], default=None)
        return " <- ".join(path)


class CriticalPath:
    """Counts each AWS call where the engine made it: in a lane of a section, or serially (one after another).

    Installed by wrapping the engine's own steps (a plan, a resource's read, an apply graph, a change, a
    journal entry, the steps under the lock); the engine itself is unchanged. It mirrors the engine's
    schedule, so it changes with it: a call made on a worker outside any lane is counted serially, and
    listed, so a step made concurrent without a lane here shows up. One engine at a time."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.serial: Counter = Counter()
        self.sections: list[Section] = []
        self.current: Section | None = None
        self.server_pid = 0

    def hook(self, model, **_: object) -> None:  # botocore before-call
        lane = getattr(self._local, "lane", None)
        with self._lock:
            if lane is None:
                self.serial[model.name] += 1
            else:
                lane[0].lanes[lane[1]] += 1

    def calls(self) -> int:
        return sum(self.serial.values()) + sum(s.length() for s in self.sections)

    def describe(self) -> str:
        serial = ", ".join(f"{op}" + (f" x{n}" if n > 1 else "") for op, n in self.serial.items())
        parts = "; ".join(f"{s.name} {s.length()} ({s.busiest()})" for s in self.sections if s.lanes)
        return f"serial {sum(self.serial.values())} ({serial}); {parts}"

    def timeline(self, latency: float) -> str:
        return "; ".join(f"{s.name} {s.length()} calls = {s.length() * latency:.2f}s, took {s.seconds:.2f}s "
                         f"(CPU ours {s.cpu[0]:.2f}s, server {s.cpu[1]:.2f}s)" for s in self.sections if s.lanes)

    def reset(self) -> None:
        self.serial, self.sections, self.current = Counter(), [], None

    def section(self, name: str, work):
        """Run ``work`` as a section (inside one already open, as part of it)."""
        if self.current is not None:
            return work()
        section = Section(f"{name}#{sum(1 for s in self.sections if s.name.startswith(name)) + 1}", owner=threading.get_ident())
        self.sections.append(section)
        self.current = section
        started, cpu = time.perf_counter(), (time.process_time(), server_cpu(self.server_pid))
        try:
            return work()
        finally:
            section.seconds = time.perf_counter() - started
            section.cpu = (time.process_time() - cpu[0], server_cpu(self.server_pid) - cpu[1])
            self.current = None

    def lane(self, key: str, work, after=()):
        """Run ``work`` as lane ``key`` of the open section, after the lanes ``after`` (within a lane: part of it)."""
        section = self.current
        if getattr(self._local, "lane", None) is not None or section is None or threading.get_ident() == section.owner:
            return work()  # within a lane, or not on a worker: one after another, as the engine runs it
        with self._lock:
            section.after.setdefault(key, []).extend(after)
        self._local.lane = (section, key)
        try:
            return work()
        finally:
            self._local.lane = None

    def install(self) -> None:
        from deploy.common import applier as applier_module, history, planner as planner_module

        tracer = self

        def wrap(owner, name, make):
            if hasattr(owner, name):  # an engine of another layout (an older commit) lacks some steps
                setattr(owner, name, make(getattr(owner, name)))

        # A plan: every resource's reads, the record's and the lock's at once; a removal's tags after the record.
        wrap(Planner, "plan", lambda f: lambda planner, specs, *a, **k: tracer.section("plan", lambda: f(planner, specs, *a, **k)))
        wrap(Planner, "plan_one", lambda f: lambda planner, spec: tracer.lane(spec.key, lambda: f(planner, spec)))
        wrap(Planner, "read_unit", lambda f: lambda planner, unit: tracer.lane(  # a batched read is one lane
            unit[0].key if len(unit) == 1 else f"{unit[0].kind} ×{len(unit)}", lambda: f(planner, unit)))
        wrap(Planner, "removal_tags", lambda f: lambda planner, key: tracer.lane(f"removal {key}", lambda: f(planner, key), ["record"]))
        wrap(planner_module, "read_record_state", lambda f: lambda *a: tracer.lane("record", lambda: f(*a)))
        wrap(planner_module, "read_lock", lambda f: lambda *a: tracer.lane("lock", lambda: f(*a)))

        # A batched read's follow-ups (each one's tags: AwsClients.map called from within a read) run on threads of
        # their own: each is a lane after the batch's, so the chain is the batch call then one follow-up, not all of
        # them one after another. A map from outside any lane (a plan's reads) is left as it is.
        def fan_out(f):
            def traced(clients, work, items):
                outer = getattr(tracer._local, "lane", None)
                if outer is None:
                    return f(clients, work, items)
                key, items = outer[1], list(items)
                return f(clients, lambda item, i=iter(range(len(items))): tracer.lane(f"{key} +{next(i)}", lambda: work(item), [key]),
                         items)
            return traced

        wrap(AwsClients, "map", fan_out)

        # An apply: under the lock, the entry's start beside the replan; the changes in dependency order, each
        # one's journal entry after it; then the record beside the snapshot's reads.
        wrap(Applier, "_begin", lambda f: lambda applier, *a: tracer.section("under the lock", lambda: f(applier, *a)))
        wrap(Applier, "_start_entry", lambda f: lambda applier, *a: tracer.lane("journal start", lambda: f(applier, *a)))
        wrap(Applier, "_apply_changes", lambda f: lambda applier, *a: tracer.section("apply", lambda: f(applier, *a)))

        def run_graph(f):
            def traced(applier, changes, result, emit, after, *rest):
                def register():
                    earlier = [k for k in tracer.current.after if not k.startswith("journal ")] if tracer.current else []
                    keys = {c.key for c in changes}
                    for c in changes:  # a second graph (the deletes) starts once the first is done
                        deps = [d for d in after(c) if d in keys] or earlier
                        tracer.current.after.setdefault(c.key, []).extend(deps)
                    return f(applier, changes, result, emit, after, *rest)
                return tracer.section("apply", register)
            return traced

        wrap(Applier, "_run_graph", run_graph)
        wrap(Applier, "_execute", lambda f: lambda applier, change, emit, *rest: tracer.lane(
            change.key, lambda: f(applier, change, emit, *rest)))
        wrap(history.Journal, "change", lambda f: lambda journal, outcome: tracer.lane(
            f"journal {outcome['key']}", lambda: f(journal, outcome), [outcome["key"]]))

        def settle(f):
            def traced(applier, *a):
                for handler in applier.handlers.values():
                    if "pin" not in vars(handler):
                        original = handler.pin
                        handler.pin = lambda spec, *rest, original=original: tracer.lane(spec.key, lambda: original(spec, *rest))
                return tracer.section("settle", lambda: f(applier, *a))
            return traced

        wrap(Applier, "_settle" if hasattr(Applier, "_settle") else "_snapshot", settle)
        wrap(Applier, "_write_record", lambda f: lambda applier, *a: tracer.lane("record", lambda: f(applier, *a)))
        assert applier_module.Applier is Applier


# --- CPU: ours and the server's --------------------------------------------------------------------------------

def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the server process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figure:
    wall: float
    calls: int
    critical: int
    max_in_flight: int
    our_cpu: float
    server_cpu: float
    slept: float
    detail: str
    timeline: str

    def ratio(self, latency: float) -> float:
        return self.wall / (self.critical * latency)


class Sleeps:
    """The retry layer's waits (time a run spends neither calling nor computing)."""

    def __init__(self) -> None:
        self.total = 0.0
        real = retry.sleep

        def counted(seconds: float) -> None:
            self.total += seconds
            real(seconds)

        retry.sleep = counted


def measure(endpoint: str, server_pid: int, tracer: CriticalPath, sleeps: Sleeps, run, profile: cProfile.Profile | None):
    """Run ``run(engine, specs)`` timed; the figures of that run alone."""
    prepared = prepare(CONFIG, REGION, "fpac")
    log = CallLog()
    tracer.reset()
    sleeps.total = 0.0
    request_stats(endpoint, reset=True)
    cpu0, server0 = time.process_time(), server_cpu(server_pid)
    if profile:
        profile.enable()
    started = time.perf_counter()
    # As the CLI: connect (the clients, the account guard's STS call), then plan (and apply).
    engine = connect(prepared, call_log=log, target=AwsTarget(region=REGION, endpoint_url=endpoint),
                     event_hooks=[("before-call", tracer.hook)])
    run(engine, prepared.specs)
    wall = time.perf_counter() - started
    if profile:
        profile.disable()
    cpu, server = time.process_time() - cpu0, server_cpu(server_pid) - server0
    stats = request_stats(endpoint)
    return Figure(wall, len(log.calls), tracer.calls(), stats["max_in_flight"], cpu, server, sleeps.total, tracer.describe(),
                  tracer.timeline(0.05))


def first_deploy(engine, specs) -> None:
    result = engine.apply(engine.plan(specs))
    if not result.ok:
        raise SystemExit(f"first deploy failed: {[o.error for o in result.failed]}")


def noop_plan(engine, specs) -> None:
    if engine.plan(specs).has_changes:
        raise SystemExit("the plan after the first deploy is not empty")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="rounds first, not counted (printed apart)")
    parser.add_argument("--timeline", action="store_true", help="each parallel section's critical calls and time taken")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the last round (the main thread only: the workers' calls show as waits), top 25 by own time")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    tracer = CriticalPath()
    tracer.install()
    sleeps = Sleeps()
    profile = cProfile.Profile() if args.profile else None
    realism = f'{{"enabled": false, "call_latency_ms": {args.latency_ms}}}'
    with scratch_folder("bench-latency-") as work, private_server(work / "local-aws", realism) as server:
        tracer.server_pid = server.pid
        rows: dict[str, list[Figure]] = {"first deploy": [], "no-op plan": []}
        warmup: dict[str, Figure] = {}
        for round_ in range(args.warmup + args.rounds):
            last = profile if round_ == args.warmup + args.rounds - 1 else None
            reset_local_aws(server.endpoint)
            set_realism(server.endpoint, {"enabled": False, "call_latency_ms": args.latency_ms})
            for label, run in (("first deploy", first_deploy), ("no-op plan", noop_plan)):
                figure = measure(server.endpoint, server.pid, tracer, sleeps, run, last)
                if round_ < args.warmup:
                    warmup[label] = figure
                else:
                    rows[label].append(figure)
        print(f"latency {args.latency_ms:.0f} ms per AWS call, realism off, {args.rounds} rounds after {args.warmup} not counted "
              f"(medians; ratio = wall / critical path)")
        for label, figure in warmup.items():
            print(f"warm-up round (a fresh server and process: moto loads each service's model, we parse botocore's): "
                  f"{label} {figure.wall:.2f}s, ratio {figure.ratio(latency):.2f}x")
        for label, figures in rows.items():
            wall = statistics.median(f.wall for f in figures)
            ratio = statistics.median(f.ratio(latency) for f in figures)
            last_ = figures[-1]
            print(f"{label:<13} wall {wall:5.2f}s  critical path {last_.critical:>3} calls = {last_.critical * latency:4.2f}s  "
                  f"ratio {ratio:.2f}x (rounds: {', '.join(f'{f.ratio(latency):.2f}' for f in figures)})  "
                  f"calls {last_.calls:>3}  max in flight {last_.max_in_flight:>2}")
            print(f"{'':<13} where the time goes (median): our CPU {statistics.median(f.our_cpu for f in figures):.2f}s, "
                  f"server CPU {statistics.median(f.server_cpu for f in figures):.2f}s, "
                  f"calls x latency / max in flight >= {last_.calls * latency / max(1, last_.max_in_flight):.2f}s, "
                  f"retry sleeps {statistics.median(f.slept for f in figures):.2f}s")
            print(f"{'':<13} critical path: {last_.detail}")
            if args.timeline:
                print(f"{'':<13} sections (last round): {last_.timeline}")
        if profile:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
            print(out.getvalue())


if __name__ == "__main__":
    main()
