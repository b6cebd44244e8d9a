"""What the Glue kinds share: one tagging API keyed by ARN, and roles echoed as names or ARNs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import ResourceHandler, Spec, missing_is_none, tag_delta


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

    def _write_tags(self, spec: Any, current: dict[str, Any] | None = None) -> None:
        glue = self.clients.client("glue")
        to_set, to_remove = tag_delta(self.current_tags(spec.name, current), spec.tags)
        if to_set:
            glue.tag_resource(ResourceArn=self._arn(spec.name), TagsToAdd=to_set)
        if to_remove:
            glue.untag_resource(ResourceArn=self._arn(spec.name), TagsToRemove=to_remove)

    def _batch_read(self, specs: list[Spec], batch_get: Callable[[list[str]], list[dict[str, Any]]], at_once: int,
                    comparable: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any] | None]:
        """A BatchGet… call per ``at_once`` names (what it does not find it leaves out), then each found one's tags
        (GetTags: the batch answer does not show them)."""
        names = list(dict.fromkeys(s.name for s in specs))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), at_once):
            found.update({item["Name"]: item for item in batch_get(names[start:start + at_once])})
        tags = self.clients.map(
            lambda s: missing_is_none(lambda: self._tags_of_existing(s.name), NOT_FOUND) if s.name in found else None,
            specs)  # None: deleted since
        return [None if t is None else {**comparable(found[s.name]), "tags": t} for s, t in zip(specs, tags)]

    def _tags_of_existing(self, name: str) -> dict[str, str]:
        found = self.clients.client("glue").get_tags(ResourceArn=self._arn(name))
        return dict(found.get("Tags", {}))
