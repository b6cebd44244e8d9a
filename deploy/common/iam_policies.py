"""Building least-privilege policy documents, and linting them with parliament before any write.

parliament (Duo Labs' IAM linter) knows every action and which resources it supports, so it
catches misspelled actions, malformed ARNs and a ``Resource: "*"`` where a narrower ARN exists.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Accepted:
    """A parliament finding reviewed and accepted: its issue and where it is, never a fragment of its text.

    ``location``: each key must match the finding's location (``finding_location``): a set accepts any subset of
    it (e.g. the actions a PERMISSIONS_MANAGEMENT_ACTIONS finding lists), anything else must be equal.
    """

    issue: str
    location: dict[str, Any]
    reason: str

    def matches(self, finding: Any) -> bool:
        if finding.issue != self.issue:
            return False
        found = finding_location(finding)
        for key, wanted in self.location.items():
            value = found.get(key)
            if isinstance(wanted, frozenset):
                values = {value} if isinstance(value, str) else set(value or ())
                if not values or not values <= wanted:
                    return False
            elif value != wanted:
                return False
        return True


# parliament words these findings' place in their detail only.
_DETAILS = (
    re.compile(r"Possible resource policy privilege escalation on (?P<resource>\S+) due to "
               r"s3:(?P<object_action>\w+) not being allowed, but does allow s3:(?P<bucket_action>\w+)"),
    re.compile(r"Unknown condition (?P<condition>\S+) for action (?P<action>\S+)"),
)


def finding_location(finding: Any) -> dict[str, Any]:
    """Where a finding is, as data: its location without file, line and column, plus the places its detail names
    (the actions of a RESOURCE_MISMATCH; the bucket and actions of a RESOURCE_POLICY_PRIVILEGE_ESCALATION; the
    condition and action of an UNKNOWN_CONDITION_FOR_ACTION)."""
    location = finding.location if isinstance(finding.location, dict) else {}
    out = {k: v for k, v in location.items() if k not in ("filepath", "line", "column")}
    detail = finding.detail
    if isinstance(detail, list) and all(isinstance(d, dict) and "action" in d for d in detail):
        out["actions"] = sorted(d["action"] for d in detail)
    elif isinstance(detail, str):
        for pattern in _DETAILS:
            if match := pattern.fullmatch(detail):
                out.update(match.groupdict())
    return out


def findings(document: dict[str, Any], community: bool = False) -> list[Any]:
    """parliament's findings for one policy; ``community``: with its community auditors (privilege escalation,
    permissions management, credentials exposure, ...)."""
    from parliament import analyze_policy_string  # imported lazily: it loads a large action database

    return list(analyze_policy_string(json.dumps(document), include_community_auditors=community).findings)


def lint_policy(role: str, name: str, document: dict[str, Any], community: bool = False) -> list[str]:
    """parliament's findings for one policy, as 'role/policy: ISSUE detail' lines."""
    return [_line(role, name, f) for f in findings(document, community)]


def _line(role: str, name: str, finding: Any) -> str:
    where = finding_location(finding)
    return f"{role}/{name}: {finding.issue} {finding.detail or ''} {where or ''}".strip()


def check_policies(roles: Iterable[tuple[str, dict[str, dict[str, Any]]]], accepted: Iterable[Accepted] = (),
                   community: bool = False) -> None:
    """Raise ProjectError on the first role whose policies parliament finds fault with, but for ``accepted`` findings
    (each caller says why it accepts them)."""
    accepted = tuple(accepted)
    for role, policies in roles:
        for name, document in sorted(policies.items()):
            left = [_line(role, name, f) for f in findings(document, community) if not any(a.matches(f) for a in accepted)]
            if left:
                raise ProjectError(f"IAM policy lint failed: {left[0]}" + (f" (+{len(left) - 1} more)" if len(left) > 1 else ""))
