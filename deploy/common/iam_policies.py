"""Building least-privilege policy documents, and linting them with parliament before any write.

parliament (Duo Labs' IAM linter) knows every action and which resources it supports, so it
catches misspelled actions, malformed ARNs and a ``Resource: "*"`` where a narrower ARN exists.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
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

    def matches(self, finding: Finding) -> bool:
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


def merged(acceptances: Iterable[Accepted]) -> tuple[Accepted, ...]:
    """Acceptances of the same issue and place as one, their sets joined. parliament reports some issues once per
    policy (PERMISSIONS_MANAGEMENT_ACTIONS lists every such action of the policy), so what each resource kind accepts
    for its own actions (``Kind.accepted_findings``) must be accepted together."""
    out: dict[tuple[Any, ...], Accepted] = {}
    for accepted in acceptances:
        sets = {k: v for k, v in accepted.location.items() if isinstance(v, frozenset)}
        key = (accepted.issue, tuple(sorted(sets)),
               tuple(sorted((k, repr(v)) for k, v in accepted.location.items() if k not in sets)))
        if key in out:
            before = out[key]
            location = {**before.location, **{k: before.location[k] | v for k, v in sets.items()}}
            out[key] = Accepted(accepted.issue, location, f"{before.reason}; {accepted.reason}")
        else:
            out[key] = accepted
    return tuple(out.values())


# parliament words these findings' place in their detail only.
_DETAILS = (
    re.compile(r"Possible resource policy privilege escalation on (?P<resource>\S+) due to "
               r"s3:(?P<object_action>\w+) not being allowed, but does allow s3:(?P<bucket_action>\w+)"),
    re.compile(r"Unknown condition (?P<condition>\S+) for action (?P<action>\S+)"),
)


def finding_location(finding: Finding) -> dict[str, Any]:
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


@dataclass(frozen=True)
class Finding:
    """One parliament finding, as data (what ``Accepted`` and the messages read), so it can be cached."""

    issue: str
    detail: Any
    location: Any


CACHE_ENV = "PIPELINE_DEPLOYER_CACHE"  # a folder, or "off"


def _cache_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured == "off":
        return None
    if configured:
        return Path(configured) / "iam-lint"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipeline-deployer" / "iam-lint"


@functools.cache
def _parliament_version() -> str:
    """Read once a process: importlib.metadata parses the package's METADATA each time (1 ms; 450 policies of 50 projects)."""
    from importlib.metadata import version

    return version("parliament")


def _cache_key(document: dict[str, Any], community: bool) -> str:
    """The policy's digest with everything else that decides the findings: the auditors and parliament's version."""
    material = json.dumps({"policy": document, "community": community, "parliament": _parliament_version()}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def findings(document: dict[str, Any], community: bool = False) -> list[Finding]:
    """parliament's findings for one policy; ``community``: with its community auditors (privilege escalation,
    permissions management, credentials exposure, ...).

    Cached by the policy's digest (and parliament's version): an unchanged policy is never linted again, and a
    command whose policies are all cached never imports parliament (1 s of import, 0.05 s a policy). The cache
    is a folder of JSON files under ~/.cache/pipeline-deployer (``$PIPELINE_DEPLOYER_CACHE``; ``off`` disables it).
    """
    folder = _cache_dir()
    path = folder / f"{_cache_key(document, community)}.json" if folder else None
    if path is not None:
        try:
            return [Finding(**f) for f in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError):
            pass  # absent or unreadable: lint again
    from parliament import analyze_policy_string  # imported lazily: it loads a large action database

    found = [Finding(f.issue, f.detail, f.location)
             for f in analyze_policy_string(json.dumps(document), include_community_auditors=community).findings]
    if path is not None:
        _store(path, found)
    return found


def _store(path: Path, found: list[Finding]) -> None:
    """Write atomically (parallel runs share the folder); a finding that is not plain JSON is not cached."""
    try:
        text = json.dumps([{"issue": f.issue, "detail": f.detail, "location": f.location} for f in found])
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text)
        os.replace(partial, path)
    except (OSError, TypeError, ValueError):
        pass  # caching is an optimisation; the findings were used as linted


def lint_policy(role: str, name: str, document: dict[str, Any], community: bool = False) -> list[str]:
    """parliament's findings for one policy, as 'role/policy: ISSUE detail' lines."""
    return [_line(role, name, f) for f in findings(document, community)]


def _line(role: str, name: str, finding: Finding) -> str:
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
