"""Permissions boundaries as AWS checks them: the policy must exist, and a policy in use cannot be deleted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .support import TRUST_POLICY

DOCUMENT = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
MISSING = "arn:aws:iam::123456789012:policy/no-such-boundary"


@pytest.fixture
def iam(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> Any:
    return local_aws_client("iam")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def test_a_role_with_a_boundary_that_does_not_exist_is_refused(iam: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST_POLICY, PermissionsBoundary=MISSING)
    assert _error(exc) == (404, "NoSuchEntity", f"Scope ARN: {MISSING} does not exist or is not attachable.")
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"] == "r"]

    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST_POLICY)
    with pytest.raises(ClientError) as exc:
        iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary=MISSING)
    assert _error(exc)[1] == "NoSuchEntity"
    assert "PermissionsBoundary" not in iam.get_role(RoleName="r")["Role"]


def test_an_existing_or_aws_managed_boundary_is_set_and_a_boundary_in_use_cannot_be_deleted(iam: Any) -> None:
    arn = iam.create_policy(PolicyName="boundary", PolicyDocument=DOCUMENT)["Policy"]["Arn"]
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST_POLICY, PermissionsBoundary=arn)
    assert iam.get_role(RoleName="r")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert _error(exc) == (409, "DeleteConflict", "Cannot delete a policy attached to entities.")

    iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary="arn:aws:iam::aws:policy/PowerUserAccess")
    iam.delete_policy(PolicyArn=arn)  # no longer in use
    with pytest.raises(ClientError) as exc:
        iam.put_role_permissions_boundary(RoleName="nobody", PermissionsBoundary=arn)
    assert _error(exc)[1] == "NoSuchEntity"
