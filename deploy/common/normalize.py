"""Canonical forms for JSON documents, so that comparisons never depend on key order or layout.

IAM policies: a single string and a one-element list mean the same (``"Action": "s3:GetObject"``
vs ``["s3:GetObject"]``), order of actions/resources does not matter, and ``Version`` is
always present. ASL definitions: compared as parsed JSON.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

_POLICY_LIST_KEYS = ("Action", "NotAction", "Resource", "NotResource")


def canonical_json(value: Any) -> str:
    """A stable text form: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def parse_document(document: str | dict[str, Any]) -> dict[str, Any]:
    """A JSON document as AWS may return it: a dict, a JSON string, or a URL-encoded JSON string."""
    if isinstance(document, dict):
        return document
    text = document.strip()
    if not text.startswith("{"):
        text = unquote(text)
    return json.loads(text)


def _as_sorted_list(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return sorted(items, key=canonical_json)


def _normalize_principal(principal: Any) -> Any:
    if isinstance(principal, dict):
        return {k: _as_sorted_list(v) for k, v in sorted(principal.items())}
    return principal


def _normalize_statement(statement: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key in _POLICY_LIST_KEYS:
            out[key] = _as_sorted_list(value)
        elif key in ("Principal", "NotPrincipal"):
            out[key] = _normalize_principal(value)
        elif key == "Condition":
            out[key] = {op: {k: _as_sorted_list(v) for k, v in cond.items()} for op, cond in value.items()}
        else:
            out[key] = value
    return out


def normalize_policy(document: str | dict[str, Any]) -> dict[str, Any]:
    """An IAM policy (identity or trust) in canonical form."""
    doc = parse_document(document)
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    normalized = [_normalize_statement(s) for s in statements]
    return {"Version": doc.get("Version", "2012-10-17"), "Statement": sorted(normalized, key=canonical_json)}


def normalize_definition(definition: str | dict[str, Any]) -> dict[str, Any]:
    """A Step Functions definition (ASL) as parsed JSON."""
    return parse_document(definition)
