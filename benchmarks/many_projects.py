#!/usr/bin/env python3
"""Many projects in one run: N copies of fpac (50 by default), a no-op ``plan --project-type all`` with each AWS
request answered 50 ms later.

The copies are generated in a temp folder (found through $PIPELINE_DEPLOYER_PROJECTS, as a team's own
repository of pipelines would be), each with its own config section, and deployed once to a private local
AWS (realism off, no latency: setup, untimed). Then, with ``call_latency_ms`` set, the CLI's own ``plan``
runs in this process (its code path: prepare, connect, plan, render) and is timed, split into its phases:
prepare (CPU only: specs, packaging, lint), connect (clients, the account guard), plan (AWS reads) and
render. Prints the figures, the AWS calls and the most in flight (the server's counts), and where the time
went: our CPU, the server's CPU, and what the latency alone would cost at that concurrency. Asserts only
that every plan says "No changes."

    .venv/bin/python benchmarks/many_projects.py [--projects 50] [--latency-ms 50] [--rounds 2] [--max-in-flight 32,64] [--cli]

``--cli`` also times the same plan as one CLI process (``deploy/deploy.py plan``: its start-up and imports
included).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from click.testing import CliRunner  # noqa: E402

from deploy.cli import cli  # noqa: E402
from deploy.common import fleet, preparation  # noqa: E402
from deploy.common.projects import ENV_VAR as PROJECTS_VAR  # noqa: E402
from deploy.local_aws.admin import request_stats, set_realism  # noqa: E402
from scratch import private_server, scratch_folder  # noqa: E402

FPAC = REPO / "deploy" / "projects" / "fpac_pipeline"
LOCAL_CONFIG = REPO / "deploy" / "config" / "local.json"


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def generate(work: Path, count: int, endpoint: str) -> Path:
    """``count`` copies of fpac as projects p01, p02, ... and a config naming them all; returns the config."""
    projects = work / "projects"
    for i in range(1, count + 1):
        shutil.copytree(FPAC, projects / f"p{i:02d}_pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    doc = json.loads(LOCAL_CONFIG.read_text())
    fpac = doc["projects"]["fpac"]
    doc["environment"] = "bench"
    # A plain URL, as for another emulator: the same path as real AWS. The boundary is an existing policy: the one
    # the deployer keeps lists every project's names and buckets, and IAM's 6,144 characters hold about ten.
    doc["aws"] = {"endpoint": endpoint, "permissions_boundary_arn": boundary_policy(endpoint)}
    doc["projects"] = {f"p{i:02d}": {**fpac, "data_bucket": f"acme-p{i:02d}-bench-data"} for i in range(1, count + 1)}
    config = work / "bench.json"
    config.write_text(json.dumps(doc, indent=1))
    os.environ[PROJECTS_VAR] = str(projects)
    return config


def boundary_policy(endpoint: str) -> str:
    """An environment boundary made beforehand, as an account's administrators would (allows what fpac's roles need)."""
    import boto3

    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-2")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "s3:*", "logs:*", "xray:*", "glue:*", "lambda:InvokeFunction", "states:StartExecution", "sns:Publish",
        "events:PutEvents"], "Resource": "*"}]}
    return iam.create_policy(PolicyName="bench-pipeline-boundary", PolicyDocument=json.dumps(document))["Policy"]["Arn"]


class Phases:
    """Wall seconds of the CLI's steps, by wrapping the functions it calls (the CLI itself is unchanged)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    @contextmanager
    def timed(self, name: str):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - wall
            self.cpu[name] += time.process_time() - cpu

    def install(self) -> None:
        phases = self

        def wrap(module, name: str, phase: str) -> None:
            original = getattr(module, name)

            def timed(*args, **kwargs):
                with phases.timed(phase):
                    return original(*args, **kwargs)

            setattr(module, name, timed)

        wrap(preparation, "prepare_targets", "prepare")
        for name in ("connect_all", "connect"):  # whichever the CLI uses
            if hasattr(preparation, name):
                wrap(preparation, name, "connect")
        wrap(fleet, "plan_all", "plan")

    def reset(self) -> None:
        self.seconds.clear()
        self.cpu.clear()


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-in-flight", type=lambda v: [int(x) for x in v.split(",")], default=[],
                        help="aws.max_in_flight of the config (default: the config's default); a comma-separated list measures each")
    parser.add_argument("--cli", action="store_true", help="also time the plan as one CLI process")
    args = parser.parse_args()
    with scratch_folder("bench-many-") as work, \
            private_server(work / "local-aws", '{"enabled": false, "call_latency_ms": 0}') as server:
        config = generate(work, args.projects, server.endpoint)
        target = ["--config", str(config), "--project-type", "all"]
        started = time.perf_counter()
        code, out, err = run_cli("deploy", *target, "--yes", "--output", "json")
        if code != 0:
            raise SystemExit(f"setup deploy failed ({code}): {err[-2000:]}")
        (work.parent / f"{work.name}-setup.json").write_text(out)
        code, out, err = run_cli("plan", *target, "--output", "json")
        if code != 0:
            changed = {p: [f"{c['action']} {c['kind']} {c['name']}" for c in plan["changes"] if c["action"] != "no-op"]
                       for p, plan in json.loads(out)["plans"].items() if plan["has_changes"]}
            raise SystemExit(f"the plan right after the setup deploy is not a no-op: {json.dumps(changed)[:3000]}")
        print(f"setup: {args.projects} projects deployed in {time.perf_counter() - started:.0f}s "
              f"({request_stats(server.endpoint)['requests']} requests, no latency)")

        set_realism(server.endpoint, {"call_latency_ms": args.latency_ms})
        phases = Phases()
        phases.install()
        for in_flight in args.max_in_flight or [None]:
            if in_flight is not None:
                doc = json.loads(config.read_text())
                doc["aws"]["max_in_flight"] = in_flight
                config.write_text(json.dumps(doc, indent=1))
            measure(args, server, target, phases, in_flight)
        if args.cli:
            env = {**os.environ}
            wall0 = time.perf_counter()
            proc = subprocess.run([sys.executable, str(REPO / "deploy" / "deploy.py"), "plan", *target],
                                  capture_output=True, text=True, env=env, cwd=REPO)
            wall = time.perf_counter() - wall0
            if proc.returncode != 0:
                raise SystemExit(f"CLI plan failed ({proc.returncode}): {proc.stderr[-2000:]}")
            print(f"as one CLI process (start-up and imports included), the last max_in_flight: {wall:.2f}s")


def measure(args: argparse.Namespace, server, target: list[str], phases: Phases, in_flight: int | None) -> None:
    """Time ``plan`` ``args.rounds`` times and print the medians."""
    rows = []
    for _ in range(args.rounds):
        phases.reset()
        request_stats(server.endpoint, reset=True)
        cpu0, server0 = time.process_time(), server_cpu(server.pid)
        wall0 = time.perf_counter()
        code, out, err = run_cli("plan", *target)
        wall = time.perf_counter() - wall0
        if code != 0 or out.count("No changes.") != args.projects + 1:
            raise SystemExit(f"the plan is not a no-op (exit {code}): {(out + err)[-2000:]}")
        stats = request_stats(server.endpoint)
        row = {"wall": wall, "cpu": time.process_time() - cpu0, "server": server_cpu(server.pid) - server0,
               "requests": stats["requests"], "max_in_flight": stats["max_in_flight"],
               **{f"{k}_s": v for k, v in phases.seconds.items()}, **{f"{k}_cpu": v for k, v in phases.cpu.items()}}
        row["rest_s"] = wall - sum(phases.seconds.values())
        rows.append(row)
    med = {k: statistics.median(r.get(k, 0.0) for r in rows) for k in rows[0]}
    latency = args.latency_ms / 1000
    n = args.projects
    print(f"no-op plan --project-type all: {n} projects (+ the shared resources), {args.latency_ms:.0f} ms per AWS call, "
          f"max_in_flight {in_flight or 'default'}, {args.rounds} rounds (medians)")
    rounds = ", ".join(f"{r['wall']:.2f}" for r in rows)
    print(f"  total {med['wall']:.2f}s ({rounds}), {med['wall'] / n:.3f}s per project; goal <= 10 s for 50")
    print(f"  phases: prepare {med.get('prepare_s', 0):.2f}s (CPU {med.get('prepare_cpu', 0):.2f}s), "
          f"connect {med.get('connect_s', 0):.2f}s, plan {med.get('plan_s', 0):.2f}s (our CPU {med.get('plan_cpu', 0):.2f}s), "
          f"render and the rest {med['rest_s']:.2f}s")
    print(f"  AWS calls {med['requests']:.0f} ({med['requests'] / (n + 1):.0f} per part), max in flight {med['max_in_flight']:.0f}")
    print(f"  where the time goes: our CPU {med['cpu']:.2f}s, the server's CPU {med['server']:.2f}s "
          f"({1000 * med['server'] / med['requests']:.1f} ms a call), latency alone {med['requests'] * latency:.1f}s of calls "
          f"= {med['requests'] * latency / max(1, med['max_in_flight']):.2f}s at {med['max_in_flight']:.0f} in flight; "
          f"2 cores: CPU floor {(med['cpu'] + med['server']) / 2:.2f}s")

if __name__ == "__main__":
    main()
