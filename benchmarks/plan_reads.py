#!/usr/bin/env python3
"""Reads per resource of a no-op plan (and of a one-change apply), by kind and by operation.

Deploys fpac to a private local AWS server (moto + our extensions) on loopback, then plans again with nothing
changed and counts every botocore call with the same before-call hook the tests use (the account guard's
sts:GetCallerIdentity included: a plan makes it). Then changes one function's code and counts the plan and apply
of that change. Prints figures; asserts nothing but that the no-op plan has no changes (issue 11's goal: at most
1.2 reads per resource for a no-op plan, the record and lock reads included).

    .venv/bin/python benchmarks/plan_reads.py [--realism off|on] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.common.aws_common import AwsTarget, CallLog  # noqa: E402
from deploy.common.preparation import connect, prepare  # noqa: E402
from scratch import private_server, scratch_folder, scratch_fpac  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "config" / "local.json"
TARGET = 1.2  # issue 11: a no-op plan makes at most 1.2 reads per resource
STATE = "the deployer (record, lock, account)"  # reads of the deployer's own objects, not of a resource

# Which kind an operation reads for, by service; S3 and IAM ops are told apart below.
BY_SERVICE = {"logs": "log_group", "lambda": "lambda_function", "stepfunctions": "state_machine", "events": "event_rule",
              "sns": "sns_topic", "sts": STATE}
GLUE = {"Database": "glue_database", "Databases": "glue_database", "Job": "glue_job", "Jobs": "glue_job",
        "Crawler": "glue_crawler", "Crawlers": "glue_crawler"}
IAM_POLICY_OPS = ("GetPolicy", "GetPolicyVersion", "ListPolicyTags", "ListPolicyVersions")
# Why a kind still reads more than once per resource (issue 11's notes: each reason is a decision, not an oversight).
WHY = {
    "iam_role": "no call shows a role's inline and attached policies with it: GetRole, ListRolePolicies, GetRolePolicy "
                "per policy, ListAttachedRolePolicies (GetAccountAuthorizationDetails would, for the whole account: "
                "least privilege keeps it out)",
    "s3_bucket": "S3 answers one setting per call: versioning, encryption, public access block, policy, notifications, tags",
    "event_rule": "DescribeRule, ListTargetsByRule, ListTagsForResource (ListRules answers several but is granted only on *)",
    "lambda_function": "GetFunction ($LATEST, concurrency, tags) and the alias's version (what is served)",
    "sns_topic": "GetTopicAttributes, ListSubscriptionsByTopic, ListTagsForResource",
    "state_machine": "DescribeStateMachine shows no tags: ListTagsForResource",
    "iam_policy": "GetPolicy, then the default version's document",
    "glue_database": "GetDatabase shows no tags: GetTags",
    "glue_crawler": "BatchGetCrawlers shows no tags: GetTags each",
    "glue_job": "BatchGetJobs shows no tags: GetTags each",
    "log_group": "DescribeLogGroups shows no tags: ListTagsLogGroup each",
    STATE: "the account guard, the record, the lock",
}


class ParamLog:
    """Every call with its parameters (a before-parameter-build hook: it sees the API parameters, before-call the
    serialised request), to tell an S3 object read from a record read."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def hook(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.calls.append((model.service_model.service_name, model.name, dict(params)))


def kind_of(service: str, operation: str, params: dict[str, Any], object_buckets: set[str]) -> str:
    if service == "s3":
        if operation in ("GetObject", "PutObject", "DeleteObject") and str(params.get("Key", "")).startswith("_deployer/"):
            return STATE
        if "Key" in params or operation.startswith("ListObject"):
            return "s3_object" if params.get("Bucket") in object_buckets else "s3 (other)"
        return "s3_bucket"
    if service == "iam":
        return "iam_policy" if operation in IAM_POLICY_OPS else "iam_role"
    if service == "glue":
        if operation in ("GetTags", "TagResource", "UntagResource"):
            arn = params.get("ResourceArn", "")
            return {"database": "glue_database", "job": "glue_job", "crawler": "glue_crawler"}.get(arn.split(":")[5].split("/")[0], "glue")
        return next((kind for noun, kind in GLUE.items() if operation.endswith(noun)), f"glue (other: {operation})")
    return BY_SERVICE.get(service, f"{service} (other)")


def measure(endpoint: str, apply: bool, hooks: ParamLog | None = None):
    prepared = prepare(CONFIG, "us-east-2", "fpac")
    log = CallLog()
    params = hooks or ParamLog()
    engine = connect(prepared, call_log=log, event_hooks=[("before-parameter-build", params.hook)],
                     target=AwsTarget(region="us-east-2", endpoint_url=endpoint))
    started = time.perf_counter()
    plan = engine.plan(prepared.specs)
    seconds = time.perf_counter() - started
    if apply:
        result = engine.apply(plan)
        assert result.ok, [o.error for o in result.failed]
    return prepared, plan, log, params, seconds


def figures_of(params: ParamLog, object_buckets: set[str]) -> tuple[Counter, Counter]:
    reads = [(s, o, p) for s, o, p in params.calls if o.startswith(("Get", "List", "Describe", "Head", "BatchGet"))]
    by_kind = Counter(kind_of(s, o, p, object_buckets) for s, o, p in reads)
    by_op = Counter(f"{s}:{o}" for s, o, _ in reads)
    return by_kind, by_op


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realism", default="off", help="the local AWS's realism: off (default: the reads are what we count), on")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args()
    with scratch_folder() as work, private_server(work / "local-aws", args.realism) as server:
        project_copy = scratch_fpac(work)
        measure(server.endpoint, apply=True)  # first deploy
        prepared, plan, log, params, seconds = measure(server.endpoint, apply=False)
        assert not plan.has_changes, [c.key for c in plan.changes if c.action != "no-op"]
        # One function's code changed: its plan, the re-plan under the lock, the writes, the snapshot.
        handler = project_copy / "lambda" / "CreateNewId" / "handler.py"
        handler.write_text(handler.read_text() + "\n# benchmark change\n")
        _, change_plan, change_log, change_params, _ = measure(server.endpoint, apply=True)
        changed = [c.key for c in change_plan.changes if c.action != "no-op"]

    object_buckets = {s.bucket for s in prepared.specs if s.kind == "s3_object"}
    resources = len(prepared.specs)
    of_kind = Counter(s.kind for s in prepared.specs)
    by_kind, by_op = figures_of(params, object_buckets)
    change_kind, change_op = figures_of(change_params, object_buckets)
    reads = sum(by_kind.values())
    change_reads = sum(change_kind.values())
    figures = {
        "resources": resources, "resources_by_kind": dict(sorted(of_kind.items())), "calls": len(log.calls),
        "writes": len(log.writes), "reads": reads, "reads_per_resource": round(reads / resources, 2), "target": TARGET,
        "plan_seconds": round(seconds, 2), "by_kind": dict(sorted(by_kind.items())), "by_operation": dict(sorted(by_op.items())),
        "over_one_per_resource": {k: n - of_kind.get(k, 0) for k, n in sorted(by_kind.items()) if n > of_kind.get(k, 0)},
        "one_change_apply": {"changed": changed, "calls": len(change_log.calls), "reads": change_reads,
                             "writes": len(change_log.writes), "by_kind": dict(sorted(change_kind.items())),
                             "by_operation": dict(sorted(change_op.items()))},
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"no-op plan of fpac: {reads} reads ({len(log.writes)} writes) for {resources} resources = "
          f"{reads / resources:.2f} per resource (goal ≤ {TARGET}); {seconds:.2f} s (realism {args.realism})")
    print(f"\n{'kind':<40}{'resources':>10}{'reads':>7}{'per resource':>14}")
    for kind in sorted(set(by_kind) | set(of_kind), key=lambda k: (-by_kind.get(k, 0), k)):
        count, n = of_kind.get(kind, 0), by_kind.get(kind, 0)
        print(f"{kind:<40}{count:>10}{n:>7}{(f'{n / count:.2f}' if count else '-'):>14}")
    over = {k: n - of_kind.get(k, 0) for k, n in by_kind.items() if n > of_kind.get(k, 0)}
    goal = int(TARGET * resources)
    print(f"\n{max(0, reads - goal)} reads over the goal ({goal} for {resources} resources); the reads above one per "
          "resource, by kind, and why:")
    for kind, n in sorted(over.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  +{n:<3} {kind}: {WHY.get(kind, '')}")
    print("\nby operation:")
    for op, n in sorted(by_op.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:>3}  {op}")
    print(f"\none function's code changed ({', '.join(changed)}), plan + apply: {len(change_log.calls)} calls, "
          f"{change_reads} reads, {len(change_log.writes)} writes")
    for kind, n in sorted(change_kind.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:>3}  {kind}")
    print("  by operation: " + ", ".join(f"{op}×{n}" for op, n in sorted(change_op.items(), key=lambda kv: (-kv[1], kv[0]))))


if __name__ == "__main__":
    main()
