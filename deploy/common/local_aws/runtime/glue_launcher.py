"""Run one Glue job script locally: `python glue_launcher.py SCRIPT --JOB_NAME name --k v ...`.

Environment: LOCAL_AWS_S3_MIRROR (mirror root), LOCAL_AWS_RESULT_PATH (outcome JSON
{"ok": bool, "error": str}). Hadoop serves s3:// paths from the local mirror (the parent configured
that in spark-defaults.conf, see s3_mirror.hadoop_s3_mapping), so the script sees and uses real
s3:// paths. This launcher makes sure a bucket is downloaded before use: the buckets named in the
job's arguments up front, and any other bucket the first time a Spark reader/writer is given one of
its paths. The mirror is synced back to S3 when the script ends, whether it succeeded or failed (as
partial writes persist on AWS). The script runs as __main__ with sys.argv as Glue passes it.
"""

from __future__ import annotations

import functools
import json
import os
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any

# (module, class, methods) whose path arguments may be s3 URIs.
SPARK_PATH_METHODS = (
    ("pyspark.sql.readwriter", "DataFrameReader", ("load", "csv", "json", "parquet", "text", "orc")),
    ("pyspark.sql.readwriter", "DataFrameWriter", ("save", "csv", "json", "parquet", "text", "orc")),
    ("pyspark.context", "SparkContext", ("textFile", "wholeTextFiles", "binaryFiles")),
    ("pyspark.rdd", "RDD", ("saveAsTextFile",)),
)
PATH_KEYWORDS = ("path", "paths", "name")


def strings_in(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """The str arguments of a call (positional, and path-like keywords), lists flattened."""
    values = list(args) + [kwargs[k] for k in PATH_KEYWORDS if k in kwargs]
    found: list[str] = []
    for value in values:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found += [v for v in value if isinstance(v, str)]
    return found


def patch_spark(before_use: Any) -> None:
    """Call before_use(str) for each string argument of Spark's path methods, then run them unchanged."""
    import importlib

    for module_name, class_name, methods in SPARK_PATH_METHODS:
        cls = getattr(importlib.import_module(module_name), class_name)
        for method_name in methods:
            original = getattr(cls, method_name)

            @functools.wraps(original)
            def wrapper(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
                for value in strings_in(args, kwargs):
                    before_use(value)
                return __original(self, *args, **kwargs)

            setattr(cls, method_name, wrapper)


def describe_error(exc: BaseException) -> str:
    """One line for GetJobRun.ErrorMessage, e.g. 'ValueError: bad row'."""
    text = str(exc).strip()
    message = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def main() -> int:
    import boto3
    from s3_mirror import S3Mirror, s3_buckets_in  # sibling module: this script runs by path

    script, script_args = sys.argv[1], sys.argv[2:]
    mirror = S3Mirror(root=Path(os.environ["LOCAL_AWS_S3_MIRROR"]), client=boto3.client("s3"))
    for bucket in s3_buckets_in(script_args):
        mirror.ensure_bucket(bucket)
    try:
        patch_spark(mirror.ensure_uri)
    except ImportError:
        pass  # a Python shell job without pyspark
    sys.argv = [script, *script_args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    outcome: dict[str, Any] = {"ok": True}
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            outcome = {"ok": False, "error": f"SystemExit: {exc.code}"}
    except BaseException as exc:  # noqa: BLE001 - report every failure of the script
        traceback.print_exc()
        outcome = {"ok": False, "error": describe_error(exc)}
    finally:
        try:
            summary = mirror.sync_back()
            print(f"[local glue] synced mirror back to S3: {summary}", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            if outcome["ok"]:
                outcome = {"ok": False, "error": f"syncing local S3 mirror back failed: {describe_error(exc)}"}
    with open(os.environ["LOCAL_AWS_RESULT_PATH"], "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
