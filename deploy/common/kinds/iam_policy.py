"""Customer-managed IAM policies (the environment's permissions boundary): the document compared as normalised JSON.

IAM keeps up to 5 versions of a managed policy; a changed document becomes a new default version, the oldest
non-default one deleted first when 5 exist. The deployer's own deploy policy may create the boundary but never
change it (that would be an escalation): a changed boundary is applied with administrator credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from ..aws_common import error_code
from ..errors import AwsCallError
from ..normalize import normalize_policy
from ..plan import FieldChange
from .base import Kind, Request, ResourceHandler, Spec, changed, missing_is_none, tag_delta


@dataclass(frozen=True, eq=False)
class ManagedPolicySpec(Spec):
    """A customer-managed IAM policy (the environment's permissions boundary)."""

    kind: ClassVar[str] = "iam_policy"
    document: dict[str, Any] = field(default_factory=dict)
    description: str = ""  # set on create only: IAM has no call to change a policy's description


MAX_VERSIONS = 5  # https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
DENIED = ("AccessDenied", "AccessDeniedException")


class ManagedPolicyHandler(ResourceHandler):
    kind = ManagedPolicySpec.kind

    def desired(self, spec: ManagedPolicySpec) -> dict[str, Any]:
        return {"document": normalize_policy(spec.document)}

    def read(self, spec: ManagedPolicySpec) -> dict[str, Any] | None:
        iam = self.clients.client("iam")
        arn = self.arns.policy(spec.name)
        found = missing_is_none(lambda: iam.get_policy(PolicyArn=arn), "NoSuchEntity")
        if found is None:
            return None
        version = iam.get_policy_version(PolicyArn=arn, VersionId=found["Policy"]["DefaultVersionId"])["PolicyVersion"]
        return {"document": normalize_policy(version["Document"]), "tags": _tags(found)}

    @staticmethod
    def create_kwargs(spec: ManagedPolicySpec) -> dict[str, Any]:
        """CreatePolicy's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {"PolicyName": spec.name, "PolicyDocument": json.dumps(spec.document), "Description": spec.description,
                "Tags": [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]}

    def create(self, spec: ManagedPolicySpec) -> None:
        self.clients.client("iam").create_policy(**self.create_kwargs(spec))

    def update(self, spec: ManagedPolicySpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        iam = self.clients.client("iam")
        arn = self.arns.policy(spec.name)
        try:
            if changed(changes, "document"):
                versions = [v for page in iam.get_paginator("list_policy_versions").paginate(PolicyArn=arn) for v in page["Versions"]]
                old = sorted((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
                if len(versions) >= MAX_VERSIONS and old:
                    iam.delete_policy_version(PolicyArn=arn, VersionId=old[0]["VersionId"])
                iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(spec.document), SetAsDefault=True)
            to_set, to_remove = tag_delta(self.current_tags(spec.name, current), spec.tags)
            if to_set:
                iam.tag_policy(PolicyArn=arn, Tags=[{"Key": k, "Value": v} for k, v in sorted(to_set.items())])
            if to_remove:
                iam.untag_policy(PolicyArn=arn, TagKeys=to_remove)
        except ClientError as exc:
            if error_code(exc) not in DENIED:
                raise
            raise AwsCallError(f"iam_policy {spec.name}: changing the permissions boundary needs administrator credentials "
                               f"(the deployer's deploy policy may create it, never change it): {error_code(exc)}") from None

    def read_tags(self, name: str) -> dict[str, str] | None:
        iam = self.clients.client("iam")
        found = missing_is_none(lambda: iam.get_policy(PolicyArn=self.arns.policy(name)), "NoSuchEntity")
        return None if found is None else _tags(found)

    def delete(self, name: str) -> None:
        iam = self.clients.client("iam")
        arn = self.arns.policy(name)
        for page in iam.get_paginator("list_policy_versions").paginate(PolicyArn=arn):
            for version in page["Versions"]:
                if not version["IsDefaultVersion"]:
                    iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=arn)


def _tags(found: dict[str, Any]) -> dict[str, str]:
    """The tags GetPolicy answers with (it lists them all: a policy has at most 50)."""
    return {t["Key"]: t["Value"] for t in found["Policy"].get("Tags", [])}


KIND = Kind(
    spec=ManagedPolicySpec, handler=ManagedPolicyHandler,
    reads=("iam:GetPolicy", "iam:GetPolicyVersion"),  # GetPolicy answers with the tags
    # Create once, never change or delete: no CreatePolicyVersion, SetDefaultPolicyVersion, DeletePolicy*. Its tags
    # (ownership, provenance, the config's) follow the config: they grant nothing.
    writes=("iam:CreatePolicy", "iam:TagPolicy", "iam:UntagPolicy"),
    arns=lambda s, arns, p: [arns.policy(s.name)],
    requests=lambda s, region: [Request("iam", "CreatePolicy", ManagedPolicyHandler.create_kwargs(s))],
    tag_limit=(50, "IAM managed policies"),  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    case_insensitive_names=True,
)
