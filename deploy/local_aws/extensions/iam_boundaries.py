"""IAM permissions boundaries checked as AWS checks them.

moto 5.2.1 sets a role's boundary to any well-formed policy ARN, existing or not, and deletes a managed policy that
roles still use as their boundary. AWS refuses both: CreateRole or PutRolePermissionsBoundary naming a policy that
does not exist answers 404 NoSuchEntity "Scope ARN: ARN does not exist or is not attachable.", and DeletePolicy of
a policy in use answers 409 DeleteConflict "Cannot delete a policy attached to entities.". So a deploy that creates
a role before its boundary fails here as it would on AWS. AWS-managed policies (``iam::aws:policy/``) are taken as
existing.
"""

from __future__ import annotations

from typing import Any

from moto.iam.exceptions import DeleteConflictException, NoSuchEntity
from moto.iam.models import IAMBackend

from deploy.local_aws.extensions.patching import wrap_method


def _check_boundary(backend: IAMBackend, arn: str | None) -> None:
    if arn and ":iam::aws:policy/" not in arn and arn not in backend.managed_policies:
        raise NoSuchEntity(f"Scope ARN: {arn} does not exist or is not attachable.")


def _create_role(original: Any, self: IAMBackend, role_name: str, assume_role_policy_document: str, path: str,
                 permissions_boundary: str | None, *args: Any, **kwargs: Any) -> Any:
    _check_boundary(self, permissions_boundary)
    return original(self, role_name, assume_role_policy_document, path, permissions_boundary, *args, **kwargs)


def _put_role_permissions_boundary(original: Any, self: IAMBackend, role_name: str, permissions_boundary: str) -> None:
    self.get_role(role_name)  # an unknown role first, as AWS answers
    _check_boundary(self, permissions_boundary)
    original(self, role_name, permissions_boundary)


def _delete_policy(original: Any, self: IAMBackend, policy_arn: str) -> None:
    if any(role.permissions_boundary_arn == policy_arn for role in self.roles.values()):
        raise DeleteConflictException("Cannot delete a policy attached to entities.")
    original(self, policy_arn)


def apply() -> None:
    wrap_method(IAMBackend, "create_role")(_create_role)
    wrap_method(IAMBackend, "put_role_permissions_boundary")(_put_role_permissions_boundary)
    wrap_method(IAMBackend, "delete_policy")(_delete_policy)
