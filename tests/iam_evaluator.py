"""Evaluate AWS requests against IAM policies with a maintained evaluator, @cloud-copilot/iam-simulate (Node).

``scripts/setup.sh`` installs it into ``tests/iam_simulate`` (``npm ci``, versions pinned by its package-lock.json);
at test time nothing is downloaded. One node process evaluates a whole batch (``tests/iam_simulate/evaluate.mjs``):
Allow/Deny over identity policies and a permissions boundary, resources with wildcards, condition operators, and
strict context (a key the request does not carry is absent, as in AWS).

Why not a Python library: moto's ``IAMPolicyStatement`` answers DENIED for an Allow statement whose condition does
not hold (so a PassRole statement for one service denies the others) and lets a condition pass when its key is
missing; principalmapper, the one Python evaluator with conditions, no longer imports on Python 3.10+
(``collections.Mapping``); policyuniverse, cloudsplaining and policy_sentry describe policies but evaluate no request.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOOL = Path(__file__).resolve().parent / "iam_simulate"
ALLOWED = "Allowed"


@dataclass(frozen=True)
class Request:
    """One authorisation AWS makes: an IAM action on a resource ARN (``*`` for actions AWS authorises only on "*"),
    with the condition keys that matter."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    call: str = field(default="", compare=False)  # the API call it comes from, for messages

    def __str__(self) -> str:
        keys = ", ".join(f"{k}={v}" for k, v in self.context)
        return f"{self.action} on {self.resource}" + (f" [{keys}]" if keys else "") + (f" ({self.call})" if self.call else "")


@dataclass(frozen=True)
class Query:
    request: Request
    policies: tuple[str, ...]  # names in the ``policies`` given to evaluate()
    boundary: str | None = None


def evaluate(policies: dict[str, dict[str, Any]], queries: list[Query], account: str, invalid: str = "raise") -> list[str]:
    """The decision for each query: Allowed, ImplicitlyDenied or ExplicitlyDenied. An invalid request or policy
    (an unknown action, a resource of no type the action takes) raises, or with ``invalid="report"`` is decided
    ``invalid: <why>``."""
    if not queries:
        return []
    node = shutil.which("node")
    if node is None or not (TOOL / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        raise RuntimeError("the IAM policy evaluator is not installed: run scripts/test.sh (it runs npm ci --prefix tests/iam_simulate)")
    principal = f"arn:aws:iam::{account}:role/pipeline-deployer"
    document = {"policies": policies, "requests": [{
        "principal": principal, "action": q.request.action, "resource": q.request.resource, "account": account,
        "context": dict(q.request.context), "policies": list(q.policies), "boundary": q.boundary} for q in queries]}
    done = subprocess.run([node, str(TOOL / "evaluate.mjs")], input=json.dumps(document), capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the IAM policy evaluator failed: {done.stderr.strip()[-2000:]}")
    results = json.loads(done.stdout)
    errors = [f"{q.request}: {r['error']}" for q, r in zip(queries, results) if r["decision"] == "error"]
    if errors and invalid == "raise":
        raise ValueError(f"{len(errors)} requests could not be evaluated, e.g. {errors[0]}")
    return [f"invalid: {r['error']}" if r["decision"] == "error" else r["decision"] for r in results]
