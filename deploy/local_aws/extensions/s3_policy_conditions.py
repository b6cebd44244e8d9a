"""Bucket policies whose conditions depend on the request: moto evaluates them without any request
context, knows only StringEquals, and treats a statement whose condition does not hold as a Deny
(right for trust policies, wrong here), so a Deny conditioned on `Null` applies always.

AWS lets a bucket policy enforce conditional writes (condition key `s3:if-none-match`, S3 User Guide,
conditional-writes-enforce.html); the deployer's artifact bucket denies deleting history objects
and writing them without If-None-Match. We give moto's bucket-policy check the request's
`s3:if-none-match` value and teach it the `Null` operator, so the local AWS enforces that policy
as AWS does: a write with If-None-Match passes, one without is denied (403). A statement whose
condition does not hold does not apply (IAM policy evaluation logic).
"""

from __future__ import annotations

import threading
from typing import Any

from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response

from deploy.local_aws.extensions.patching import wrap_method

_request = threading.local()


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def condition_holds(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """The operators our bucket policies use: Null, Bool, StringEquals (all keys must hold)."""
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            actual = context.get(key)
            if operator == "Null":
                if (_values(expected)[0].lower() == "true") != (actual is None):
                    return False
            elif operator in ("Bool", "StringEquals"):
                if actual is None or actual.lower() not in [v.lower() for v in _values(expected)]:
                    return False
            else:
                return False  # an operator we cannot evaluate: the statement does not apply
    return True


def _key_response(original: Any, self: S3Response, request: Any, full_url: str) -> Any:
    value = request.headers.get("If-None-Match")
    _request.conditions = {"s3:if-none-match": value} if value is not None else {}
    try:
        return original(self, request, full_url)
    finally:
        _request.conditions = {}


def _get_permission(original: Any, self: FakeBucket, action: str, resource: str) -> Any:
    """Deny wins, then Allow, else neutral; only statements whose action, resource and condition match count."""
    import json

    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    statements = json.loads(self.policy.decode()).get("Statement", [])
    context = getattr(_request, "conditions", {})
    result = PermissionResult.NEUTRAL
    for statement in statements if isinstance(statements, list) else [statements]:
        matcher = IAMPolicyStatement(statement)
        if not (matcher._check_element_matches("Action", action) and matcher._check_element_matches("Resource", resource)):
            continue
        if not condition_holds(statement.get("Condition") or {}, context):
            continue
        if statement.get("Effect") == "Deny":
            return PermissionResult.DENIED
        result = PermissionResult.PERMITTED
    return result


def apply() -> None:
    wrap_method(S3Response, "_key_response")(_key_response)
    wrap_method(FakeBucket, "get_permission")(_get_permission)
