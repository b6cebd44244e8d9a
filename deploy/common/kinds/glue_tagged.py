"""What the Glue kinds share: one tagging API keyed by ARN, and roles echoed as names or ARNs."""

from __future__ import annotations

from typing import Any

from .base import ResourceHandler, tag_delta


NOT_FOUND = "EntityNotFoundException"


class GlueTagged(ResourceHandler):
    """Glue resources share one tagging API keyed by ARN."""

    def _role_arn(self, role: str | None) -> str | None:
        """Glue echoes the role as it was given, name or ARN; compare ARNs."""
        return role if not role or role.startswith("arn:") else self.arns.role(role)

    def _arn(self, name: str) -> str:
        raise NotImplementedError

    def read_tags(self, name: str) -> dict[str, str] | None:
        return self._tags_of_existing(name) if self._exists(name) else None

    def _exists(self, name: str) -> bool:
        raise NotImplementedError

    def _write_tags(self, spec: Any) -> None:
        glue = self.clients.client("glue")
        to_set, to_remove = tag_delta(self.read_tags(spec.name), spec.tags)
        if to_set:
            glue.tag_resource(ResourceArn=self._arn(spec.name), TagsToAdd=to_set)
        if to_remove:
            glue.untag_resource(ResourceArn=self._arn(spec.name), TagsToRemove=to_remove)

    def _tags_of_existing(self, name: str) -> dict[str, str]:
        found = self.clients.client("glue").get_tags(ResourceArn=self._arn(name))
        return dict(found.get("Tags", {}))
