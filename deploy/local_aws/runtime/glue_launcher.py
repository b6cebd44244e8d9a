"""Run one Glue Python shell job script: `python glue_launcher.py SCRIPT --JOB_NAME name --k v ...`.

A Python shell job has no Spark, so it runs in a fresh Python process of its own (Spark jobs go
to the Spark worker, spark_worker.py). Environment: LOCAL_AWS_RESULT_PATH, where the outcome JSON
goes ({"ok": bool, "error": str}). The script runs as __main__ with sys.argv as Glue passes it, its
folder first on sys.path, and reaches S3 with boto3 (AWS_ENDPOINT_URL is the local AWS).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
from typing import Any


def describe_error(exc: BaseException) -> str:
    """One line for GetJobRun.ErrorMessage, e.g. 'ValueError: bad row'."""
    text = str(exc).strip()
    message = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def run_script(script: str, script_args: list[str]) -> dict[str, Any]:
    """Run the script as __main__; {"ok": True} or {"ok": False, "error": one line}."""
    sys.argv = [script, *script_args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return {"ok": False, "error": f"SystemExit: {exc.code}"}
    except BaseException as exc:  # noqa: BLE001 - report every failure of the script
        traceback.print_exc()
        return {"ok": False, "error": describe_error(exc)}
    return {"ok": True}


def main() -> int:
    outcome = run_script(sys.argv[1], sys.argv[2:])
    sys.stdout.flush()
    sys.stderr.flush()
    with open(os.environ["LOCAL_AWS_RESULT_PATH"], "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
