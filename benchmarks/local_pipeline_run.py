#!/usr/bin/env python3
"""Wall time of the fpac pipeline run on the local AWS against its floor, measured in the same run.

    .venv/bin/python benchmarks/local_pipeline_run.py [--rounds 1] [--rows 1000000] [--no-big] [--profile]

The pipeline run is what `deploy.py run --config config/local.json --project-type fpac --input F`
does after a deploy (deploy/common/pipeline_run.py's run_pipeline, timed from the upload to the
run's report): S3 -> EventBridge -> Step Functions -> Validate, CreateNewId (Lambda), landing,
cleaning, final (Glue, on the local AWS's Spark worker), crawler, LogResults. Each round deploys fpac
(untimed) to a fresh private local AWS (realism on, as `local start` runs it), from config/local.json.

The floor (benchmarks/fpac_floor.py) is one SparkSession running the same three jobs' code on local
files, with the same Spark settings, in a fresh process: one JVM start plus the Spark work, nothing
else. Figures, each a median over the rounds:
  sample, cold   the 35-row sample file, the local AWS's first Glue run (its Spark worker starts on
                 first use) vs the floor's first pass, timed from its process start
  sample, warm   the next run of the same file (worker running) vs the floor's second pass
  1M rows, cold  a generated 1M-row file (deterministic, in a temp folder) on a fresh local AWS vs
                 the floor's only pass, timed from its process start
Peak memory is read from /proc over the process tree: the local AWS server with its Spark worker
(Python + JVM) and Lambda processes; the floor process with its JVM (see PeakMemory).
--profile prints each run's timeline: the states' times (execution history) and the Glue runs'
own phases (their "[local glue]" log lines).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deploy.common.aws_common import AwsTarget  # noqa: E402
from deploy.common.preparation import connect, prepare  # noqa: E402
from deploy.local_aws.manager import spawn_server  # noqa: E402
from deploy.local_aws.realism.settings import ENV_VAR  # noqa: E402
from deploy.common.pipeline_run import run_pipeline  # noqa: E402
from deploy.common.projects import load_project  # noqa: E402

LOCAL_CONFIG = REPO / "deploy" / "config" / "local.json"
SAMPLE = REPO / "deploy" / "projects" / "fpac_pipeline" / "sample_data" / "fpac_payments_good.csv"
FLOOR = REPO / "benchmarks" / "fpac_floor.py"
REGION = "us-east-2"
GOAL_RATIO = 1.3

HEADER = "record_id,state_code,county_code,program_code,fiscal_year,payment_date,payment_amount,recipient_id\n"
STATES = ("IA", "NE", "KS", "MN", "IL", "TX", "CA", "OH", "ND", "SD", "MO", "WI", "IN", "MT", "CO")
PROGRAMS = ("ARC-CO", "PLC", "CRP", "LFP", "ELAP", "ARC-IC", "MAL", "TAP")


def generate_input(path: Path, rows: int, seed: int = 11) -> Path:
    """A deterministic fpac CSV of `rows` payments, a few percent of them dirty in the sample's ways
    (case, padding, other date and amount layouts, bad values, duplicates, conflicting record ids)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        previous = ""
        for i in range(rows):
            year = rng.choice((2023, 2024, 2025))
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            cents = rng.randint(100, 2_500_000)
            fields = [f"P{i:07d}", rng.choice(STATES), f"{rng.randint(1, 199):03d}", rng.choice(PROGRAMS), str(year),
                      f"{year}-{month:02d}-{day:02d}", f"{cents // 100}.{cents % 100:02d}", f"R{rng.randint(1, 250_000):06d}"]
            dirt = rng.random()
            if dirt < 0.01:
                fields[5] = f"{month}/{day}/{year}"
            elif dirt < 0.02:
                fields[6] = f"\"${cents // 100:,}.{cents % 100:02d}\""
            elif dirt < 0.03:
                fields[1], fields[3] = f" {fields[1].lower()} ", fields[3].lower().replace("-", " ")
            elif dirt < 0.035:
                fields[5] = f"{year}-02-30"
            elif dirt < 0.04:
                fields[6] = "-" + fields[6]
            elif dirt < 0.043:
                fields[1] = ""
            elif dirt < 0.046:
                fields[6] = "12.345"
            elif dirt < 0.05 and previous:
                out.write(previous)  # an exact duplicate of the row before
            elif dirt < 0.052 and previous:
                fields[0] = previous.split(",", 1)[0]  # the previous record id with other contents
            line = ",".join(fields) + "\n"
            out.write(line)
            previous = line
    return path


class PeakMemory:
    """Peak memory of a process and its descendants, sampled from /proc every 0.2 s: the largest sum
    of PSS (shared pages counted once, so a forked child does not count its parent's memory again),
    and the largest RSS of one process (the JVM, in practice). A child in the window between vfork
    and exec shares its parent's memory and is skipped."""

    def __init__(self, pid: int):
        self.pid, self.pss_kb, self.largest_rss_kb = pid, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _field(path: str, name: str) -> int:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1])
        return 0

    def measure(self) -> tuple[int, int]:
        """(sum of PSS, largest RSS) in kB over the tree now."""
        stats: dict[int, tuple[int, str]] = {}
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry)] = (int(fields[1]), f"{fields[20]}:{fields[25]}")  # ppid, vsize:startstack
                children.setdefault(int(fields[1]), []).append(int(entry))
        pss = largest = 0
        todo = [self.pid]
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            parent = stats.get(stats.get(pid, (0, ""))[0])
            if pid != self.pid and parent is not None and parent[1] == stats[pid][1]:
                continue  # shares its parent's memory (vfork before exec)
            try:
                pss += self._field(f"/proc/{pid}/smaps_rollup", "Pss:")
                largest = max(largest, self._field(f"/proc/{pid}/status", "VmRSS:"))
            except OSError:
                pass
        return pss, largest

    def _sample(self) -> None:
        while not self._stop.is_set():
            pss, largest = self.measure()
            self.pss_kb, self.largest_rss_kb = max(self.pss_kb, pss), max(self.largest_rss_kb, largest)
            self._stop.wait(0.2)

    def __str__(self) -> str:
        return f"peak {self.pss_kb / 1024:.0f} MiB (largest process {self.largest_rss_kb / 1024:.0f} MiB RSS)"


class LocalPipeline:
    """A private local AWS server with fpac deployed from config/local.json (endpoint swapped in)."""

    def __init__(self, work: Path):
        work.mkdir(parents=True, exist_ok=True)
        self.server = spawn_server(work / "state", detach=False, exit_with_pid=os.getpid(), extra_env={ENV_VAR: "on"})
        doc = json.loads(LOCAL_CONFIG.read_text())
        doc["aws"] = {"endpoint": self.server.endpoint}
        self.max_file_mb = doc["projects"]["fpac"]["max_file_mb"]
        config = work / "local.json"
        config.write_text(json.dumps(doc))
        self.prepared = prepare(config, REGION, "fpac")
        self.engine = connect(self.prepared, target=AwsTarget(region=REGION, endpoint_url=self.server.endpoint))
        result = self.engine.apply(self.engine.plan(self.prepared.specs))
        if not result.ok:
            raise SystemExit(f"deploy failed: {[o.error for o in result.failed]}")
        self.target = load_project("fpac").run_target(self.prepared.context)

    def run(self, source: Path, profile: bool) -> tuple[float, dict[str, Any], list[dict[str, Any]]]:
        """Seconds from the upload to the report, the run record, and the progress events."""
        if source.stat().st_size > self.max_file_mb * 1024 * 1024:
            raise SystemExit(f"{source} is over config/local.json's max_file_mb ({self.max_file_mb}): Validate would refuse it")
        events: list[dict[str, Any]] = []
        started = time.perf_counter()
        result = run_pipeline(self.engine.clients, self.target, source, events.append, run_timeout=3600)
        seconds = time.perf_counter() - started
        ended = time.time()
        if not result.succeeded or not result.record:
            raise SystemExit(f"pipeline run of {source.name} failed: {result.error} {result.cause[:500]}")
        if profile:
            print_timeline(self.engine.clients, result.record, events, ended)
        return seconds, result.record, events

    def close(self) -> None:
        self.server.terminate()


def print_timeline(clients: Any, record: dict[str, Any], events: list[dict[str, Any]], returned: float) -> None:
    """States' durations from the execution history, then the Glue runs' own phases from their logs."""
    first = events[0]["timestamp"].timestamp()
    entered: dict[str, float] = {}
    parts = []
    for event in events:
        at = event["timestamp"].timestamp()
        if "stateEnteredEventDetails" in event:
            entered[event["stateEnteredEventDetails"]["name"]] = at
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            parts.append(f"{name} {at - entered.get(name, at):.1f}")
        elif event["type"] == "ExecutionSucceeded":
            parts.append(f"end +{at - first:.1f}; report read +{returned - at:.1f}")
    print("      states (s): " + ", ".join(parts))
    logs = clients.client("logs")
    for stage, job in (record.get("jobs") or {}).items():
        try:
            lines = [e["message"] for e in logs.get_log_events(logGroupName="/aws-glue/jobs/error",
                                                               logStreamName=job["job_run_id"])["events"]]
        except Exception as exc:  # noqa: BLE001 - a profile is best effort
            lines = [f"(no log: {exc})"]
        print(f"      glue {stage}: " + " | ".join(line for line in lines if line.startswith("[local glue]")))


def run_floor(work: Path, inputs: list[Path]) -> tuple[list[float], list[float], PeakMemory]:
    """The floor in a fresh process: (each pass's end from the process start, each pass's own seconds, its memory)."""
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(FLOOR), "--work", str(work), *map(str, inputs)],
                            stdout=subprocess.PIPE, stderr=open(work / "floor.log", "wb"), text=True)
    with PeakMemory(proc.pid) as peak:
        out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"floor failed (exit {proc.returncode}); see {work / 'floor.log'}")
    passes = [p for p in (json.loads(line) for line in out.splitlines() if line.startswith("{")) if "ended" in p]
    return [p["ended"] - started for p in passes], [p["seconds"] for p in passes], peak


def same_counts(record: dict[str, Any]) -> str:
    counts = record["row_counts"]
    return f"in {counts['in']}, clean {counts['clean']}, rejected {counts['rejected']}, final {counts['final']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated input")
    parser.add_argument("--no-big", action="store_true", help="only the sample file")
    parser.add_argument("--profile", action="store_true", help="print each run's timeline")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    work = Path(tempfile.mkdtemp(prefix="bench-local-run-"))
    figures: dict[str, list[float]] = {}
    peaks: dict[str, list[PeakMemory]] = {}

    def note(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    try:
        big = None
        if not args.no_big:
            big = generate_input(work / f"fpac_{args.rows}_rows.csv", args.rows)
            print(f"generated {big.name}: {big.stat().st_size / 1e6:.1f} MB")
        for number in range(1, args.rounds + 1):
            print(f"round {number}")
            pipeline = LocalPipeline(work / f"r{number}-sample")
            try:
                ends, passes, floor_peak = run_floor(work / f"r{number}-floor", [SAMPLE, SAMPLE])
                note("sample floor cold", ends[0])
                note("sample floor warm", passes[1])
                peaks.setdefault("floor, sample", []).append(floor_peak)
                print(f"  floor   sample: cold {ends[0]:6.2f}s, warm {passes[1]:6.2f}s, {floor_peak}")
                with PeakMemory(pipeline.server.pid) as peak:
                    cold, record, _ = pipeline.run(SAMPLE, args.profile)
                    warm, record, _ = pipeline.run(SAMPLE, args.profile)
                note("sample pipeline cold", cold)
                note("sample pipeline warm", warm)
                peaks.setdefault("local AWS, sample", []).append(peak)
                print(f"  local   sample: cold {cold:6.2f}s, warm {warm:6.2f}s, {peak} ({same_counts(record)})")
            finally:
                pipeline.close()
            if big is None:
                continue
            ends, _, floor_peak = run_floor(work / f"r{number}-floor-big", [big])
            note("big floor cold", ends[0])
            peaks.setdefault(f"floor, {args.rows} rows", []).append(floor_peak)
            print(f"  floor   {args.rows} rows: cold {ends[0]:6.2f}s, {floor_peak}")
            pipeline = LocalPipeline(work / f"r{number}-big")
            try:
                with PeakMemory(pipeline.server.pid) as peak:
                    cold, record, _ = pipeline.run(big, args.profile)
                note("big pipeline cold", cold)
                peaks.setdefault(f"local AWS, {args.rows} rows", []).append(peak)
                print(f"  local   {args.rows} rows: cold {cold:6.2f}s, {peak} ({same_counts(record)})")
            finally:
                pipeline.close()

        print(f"\nmedians over {args.rounds} round(s); goal: local run / floor <= {GOAL_RATIO}")
        rows = [("sample (35 rows), cold", "sample pipeline cold", "sample floor cold"),
                ("sample (35 rows), warm", "sample pipeline warm", "sample floor warm"),
                (f"{args.rows} rows, cold", "big pipeline cold", "big floor cold")]
        for label, mine, floor in rows:
            if mine not in figures:
                continue
            a, b = statistics.median(figures[mine]), statistics.median(figures[floor])
            verdict = "met" if a / b <= GOAL_RATIO else "NOT met"
            print(f"  {label:<24} local run {a:7.2f}s   floor {b:7.2f}s   ratio {a / b:5.2f}x  ({verdict})")
        print("peak memory, the largest over the rounds: PSS summed over the process tree "
              "(largest single process, RSS)")
        for label, values in peaks.items():
            print(f"  {label:<26} {max(v.pss_kb for v in values) / 1024:7.0f} MiB "
                  f"({max(v.largest_rss_kb for v in values) / 1024:.0f} MiB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
