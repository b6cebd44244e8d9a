"""IAM roles with inline least-privilege policies: one role per component, trust for one service, and the
environment's permissions boundary (set on create, put back if it was changed, never removed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..normalize import normalize_policy
from ..plan import FieldChange
from .base import Kind, Request, ResourceHandler, Spec, changed, missing_is_none, tag_delta


@dataclass(frozen=True, eq=False)
class RoleSpec(Spec):
    kind: ClassVar[str] = "iam_role"
    trust_service: str = ""
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""
    permissions_boundary: str = ""  # ARN of the managed policy capping what the role may ever do


def trust_policy(service: str) -> dict[str, Any]:
    return normalize_policy({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


class RoleHandler(ResourceHandler):
    kind = RoleSpec.kind

    def desired(self, spec: RoleSpec) -> dict[str, Any]:
        return {
            "trust_policy": trust_policy(spec.trust_service),
            "description": spec.description,
            "inline_policies": {name: normalize_policy(doc) for name, doc in sorted(spec.policies.items())},
            "attached_policies": [],
            "permissions_boundary": spec.permissions_boundary or None,
        }

    def read(self, spec: RoleSpec) -> dict[str, Any] | None:
        iam = self.clients.client("iam")
        found = missing_is_none(lambda: iam.get_role(RoleName=spec.name), "NoSuchEntity")
        if found is None:
            return None
        role = found["Role"]
        names = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName=spec.name) for n in page["PolicyNames"]]
        policies = {n: normalize_policy(iam.get_role_policy(RoleName=spec.name, PolicyName=n)["PolicyDocument"]) for n in sorted(names)}
        attached = [p["PolicyArn"] for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=spec.name)
                    for p in page["AttachedPolicies"]]
        return {
            "trust_policy": normalize_policy(role["AssumeRolePolicyDocument"]),
            "description": role.get("Description", ""),
            "inline_policies": policies,
            "attached_policies": sorted(attached),
            "permissions_boundary": role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
            "tags": {t["Key"]: t["Value"] for t in role.get("Tags", [])},
        }

    @staticmethod
    def create_kwargs(spec: RoleSpec) -> dict[str, Any]:
        """CreateRole's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {
            "RoleName": spec.name,
            "AssumeRolePolicyDocument": json.dumps(trust_policy(spec.trust_service)),
            "Description": spec.description,
            **({"PermissionsBoundary": spec.permissions_boundary} if spec.permissions_boundary else {}),
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())],
        }

    @staticmethod
    def put_policy_kwargs(spec: RoleSpec) -> list[dict[str, Any]]:
        """PutRolePolicy's parameters, one per inline policy, for aws_rules."""
        return [{"RoleName": spec.name, "PolicyName": name, "PolicyDocument": json.dumps(doc)} for name, doc in sorted(spec.policies.items())]

    def create(self, spec: RoleSpec) -> None:
        iam = self.clients.client("iam")
        iam.create_role(**self.create_kwargs(spec))
        iam.get_waiter("role_exists").wait(RoleName=spec.name, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
        for name, doc in sorted(spec.policies.items()):
            iam.put_role_policy(RoleName=spec.name, PolicyName=name, PolicyDocument=json.dumps(doc))

    def update(self, spec: RoleSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        iam = self.clients.client("iam")
        current = {c.field: c.old for c in changes}
        # The boundary first: the deployer's policy lets it write a role's policies only while the boundary is on it.
        if changed(changes, "permissions_boundary") and spec.permissions_boundary:
            iam.put_role_permissions_boundary(RoleName=spec.name, PermissionsBoundary=spec.permissions_boundary)
        if changed(changes, "trust_policy"):
            iam.update_assume_role_policy(RoleName=spec.name, PolicyDocument=json.dumps(trust_policy(spec.trust_service)))
        if changed(changes, "description"):
            iam.update_role(RoleName=spec.name, Description=spec.description)
        if changed(changes, "inline_policies"):
            old = current["inline_policies"] or {}
            for name, doc in sorted(spec.policies.items()):
                if old.get(name) != normalize_policy(doc):
                    iam.put_role_policy(RoleName=spec.name, PolicyName=name, PolicyDocument=json.dumps(doc))
            for name in sorted(set(old) - set(spec.policies)):
                iam.delete_role_policy(RoleName=spec.name, PolicyName=name)
        if changed(changes, "attached_policies"):
            for arn in current["attached_policies"] or []:
                iam.detach_role_policy(RoleName=spec.name, PolicyArn=arn)
        self._write_tags(spec, current)

    def _write_tags(self, spec: RoleSpec, current: dict[str, Any] | None) -> None:
        iam = self.clients.client("iam")
        to_set, to_remove = tag_delta(self.current_tags(spec.name, current), spec.tags)
        if to_set:
            iam.tag_role(RoleName=spec.name, Tags=[{"Key": k, "Value": v} for k, v in sorted(to_set.items())])
        if to_remove:
            iam.untag_role(RoleName=spec.name, TagKeys=to_remove)

    def read_tags(self, name: str) -> dict[str, str] | None:
        iam = self.clients.client("iam")
        found = missing_is_none(lambda: iam.list_role_tags(RoleName=name), "NoSuchEntity")
        return None if found is None else {t["Key"]: t["Value"] for t in found["Tags"]}

    def delete(self, name: str) -> None:
        iam = self.clients.client("iam")
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy in page["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for policy in page["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        iam.delete_role(RoleName=name)


# Every role write IAM lets a policy condition on iam:PermissionsBoundary (the Service Authorization Reference):
# the deployer policy allows them only while the role carries (or, for CreateRole and PutRolePermissionsBoundary,
# is given) the environment's boundary. ``KIND.writes`` are the role writes IAM cannot condition on it.
WRITES_WITHIN_BOUNDARY = ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
                          "iam:PutRolePermissionsBoundary", "iam:DeleteRole")

KIND = Kind(
    spec=RoleSpec, handler=RoleHandler,
    reads=("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRoleTags"),
    writes=("iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole"),
    arns=lambda s, arns, p: [arns.role(p(s.name))],
    requests=lambda s, region: [Request("iam", "CreateRole", RoleHandler.create_kwargs(s)),
                                *(Request("iam", "PutRolePolicy", kwargs) for kwargs in RoleHandler.put_policy_kwargs(s))],
    tag_limit=(50, "IAM roles"),  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    case_insensitive_names=True,  # IAM: "names are not case sensitive"
)
