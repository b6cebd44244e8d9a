"""Building least-privilege policy documents, and linting them with parliament before any write.

parliament (Duo Labs' IAM linter) knows every action and which resources it supports, so it
catches misspelled actions, malformed ARNs and a ``Resource: "*"`` where a narrower ARN exists.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from .errors import ProjectError


def statement(sid: str, actions: Iterable[str], resources: Iterable[str] | str, condition: dict | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)),
                            "Resource": resources if isinstance(resources, str) else sorted(set(resources))}
    if condition:
        stmt["Condition"] = condition
    return stmt


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def lint_policy(role: str, name: str, document: dict[str, Any]) -> list[str]:
    """parliament's findings for one policy, as 'role/policy: ISSUE detail' lines."""
    from parliament import analyze_policy_string  # imported lazily: it loads a large action database

    analyzed = analyze_policy_string(json.dumps(document))
    return [f"{role}/{name}: {f.issue} {f.detail}".strip() for f in analyzed.findings]


def check_policies(roles: Iterable[tuple[str, dict[str, dict[str, Any]]]], accepted: tuple[str, ...] = ()) -> None:
    """Raise ProjectError on the first role whose policies parliament finds fault with.

    ``accepted``: fragments of findings reviewed and accepted (each caller says why).
    """
    for role, policies in roles:
        for name, document in sorted(policies.items()):
            findings = [f for f in lint_policy(role, name, document) if not any(a in f for a in accepted)]
            if findings:
                raise ProjectError(f"IAM policy lint failed: {findings[0]}" + (f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""))
