#!/usr/bin/env python3
"""First-deploy wall time of fpac with the local AWS's realism layer on (default delays) vs off, same run.

Two private local AWS servers on loopback, one per mode; each round resets the server and deploys
fpac from scratch, then plans again (which must say "No changes."). Prints the figures and their
ratio; asserts nothing beyond the deploys succeeding.

    .venv/bin/python benchmarks/realism_first_deploy.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.common.aws_common import AwsTarget, CallLog  # noqa: E402
from deploy.common.preparation import connect, prepare  # noqa: E402
from deploy.local_aws.admin import get_realism, reset_local_aws  # noqa: E402
from deploy.local_aws.manager import spawn_server  # noqa: E402
from deploy.local_aws.realism.settings import ENV_VAR  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "config" / "local.json"


def first_deploy(endpoint: str) -> tuple[float, int, int]:
    """Seconds for plan + apply from nothing, the calls it made, and the calls of the plan after it."""
    reset_local_aws(endpoint)
    prepared = prepare(CONFIG, "us-east-2", "fpac")
    log = CallLog()
    engine = connect(prepared, call_log=log, target=AwsTarget(region="us-east-2", endpoint_url=endpoint))
    started = time.perf_counter()
    result = engine.apply(engine.plan(prepared.specs))
    seconds = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"first deploy failed: {[o.error for o in result.failed]}")
    again = connect(prepared, target=AwsTarget(region="us-east-2", endpoint_url=endpoint))
    if again.plan(prepared.specs).has_changes:
        raise SystemExit("the plan after the first deploy is not empty")
    return seconds, len(log.calls), len(log.writes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    work = Path(tempfile.mkdtemp(prefix="bench-realism-"))
    servers = {mode: spawn_server(work / mode, detach=False, exit_with_pid=os.getpid(), extra_env={ENV_VAR: mode})
               for mode in ("off", "on")}
    try:
        settings = get_realism(servers["on"].endpoint)
        print("realism on: " + ", ".join(f"{k}={v}" for k, v in settings.items() if k.endswith("seconds")))
        figures: dict[str, list[tuple[float, int, int]]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            for mode, server in servers.items():  # interleaved, so machine load hits both modes alike
                figures[mode].append(first_deploy(server.endpoint))
        for mode, rows in figures.items():
            seconds = [r[0] for r in rows]
            print(f"realism {mode:<3}  first deploy  median {statistics.median(seconds):6.2f}s  "
                  f"(min {min(seconds):.2f}, max {max(seconds):.2f}, {len(rows)} rounds)  "
                  f"calls {rows[-1][1]:>4}  writes {rows[-1][2]:>3}  then plan: No changes.")
        on = statistics.median(r[0] for r in figures["on"])
        off = statistics.median(r[0] for r in figures["off"])
        print(f"ratio on/off: {on / off:.2f}x  (+{on - off:.1f}s, the waits real AWS imposes; "
              f"+{figures['on'][-1][1] - figures['off'][-1][1]} calls: refused attempts and polls)")
    finally:
        for server in servers.values():
            server.terminate()


if __name__ == "__main__":
    main()
