#!/usr/bin/env python3
"""Count AWS calls and writes for: first deploy, no-op redeploy, a one-function code change.

Runs against a private local AWS server (moto + our extensions) on loopback, counting calls with the
same botocore before-call hook the tests use. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/redeploy_writes.py
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.common.aws_common import AwsTarget, CallLog  # noqa: E402
from deploy.common.preparation import connect, prepare  # noqa: E402
from scratch import private_server, scratch_folder, scratch_fpac  # noqa: E402

CHALICE_NOOP_WRITES = 10  # measured by benchmarks/chalice_noop_writes.sh: Chalice's no-op redeploy of 3 functions
CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "config" / "local.json"


def measure(label: str, endpoint: str) -> tuple[int, int]:
    prepared = prepare(CONFIG, "us-east-2", "fpac")
    log = CallLog()
    engine = connect(prepared, call_log=log, target=AwsTarget(region="us-east-2", endpoint_url=endpoint))
    started = time.perf_counter()
    plan = engine.plan(prepared.specs)
    planned = time.perf_counter() - started
    result = engine.apply(plan)
    total = time.perf_counter() - started
    assert result.ok, [o.error for o in result.failed]
    ops = Counter(op for _, op in log.writes)
    print(f"{label:<28} calls={len(log.calls):>4}  writes={len(log.writes):>3}  plan={planned:5.2f}s  total={total:5.2f}s"
          + (f"  [{', '.join(f'{k}×{v}' for k, v in sorted(ops.items()))}]" if ops and len(ops) < 8 else ""))
    return len(log.calls), len(log.writes)


def main() -> None:
    with scratch_folder() as work, private_server(work / "local-aws") as server:
        project_copy = scratch_fpac(work)
        measure("first deploy", server.endpoint)
        _, noop_writes = measure("no-op redeploy", server.endpoint)
        handler = project_copy / "lambda" / "CreateNewId" / "handler.py"
        handler.write_text(handler.read_text() + "\n# benchmark change\n")
        _, change_writes = measure("one function's code changed", server.endpoint)
        measure("no-op after the change", server.endpoint)
    print(f"\nno-op redeploy writes: ours {noop_writes}, Chalice {CHALICE_NOOP_WRITES} (for 3 functions)")
    print(f"one-function change: {change_writes} writes (lock put and release, code upload, publish, alias move)")


if __name__ == "__main__":
    main()
