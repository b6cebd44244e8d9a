"""The Glue Data Catalog database a pipeline's crawler writes tables into (retained: dropping it drops tables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..plan import FieldChange
from .base import Kind, Request, Spec, missing_is_none
from .glue_tagged import NOT_FOUND, GlueTagged


@dataclass(frozen=True, eq=False)
class GlueDatabaseSpec(Spec):
    kind: ClassVar[str] = "glue_database"
    description: str = ""


class GlueDatabaseHandler(GlueTagged):
    kind = GlueDatabaseSpec.kind
    retained_on_removal = True  # dropping a database drops its tables' definitions; keep it, like a bucket

    def _arn(self, name: str) -> str:
        return self.arns.glue_database(name)

    def _exists(self, name: str) -> bool:
        glue = self.clients.client("glue")
        return missing_is_none(lambda: glue.get_database(Name=name), NOT_FOUND) is not None

    def desired(self, spec: GlueDatabaseSpec) -> dict[str, Any]:
        return {"description": spec.description}

    def read(self, spec: GlueDatabaseSpec) -> dict[str, Any] | None:
        glue = self.clients.client("glue")
        found = missing_is_none(lambda: glue.get_database(Name=spec.name), NOT_FOUND)
        if found is None:
            return None
        return {"description": found["Database"].get("Description", ""), "tags": self._tags_of_existing(spec.name)}

    @staticmethod
    def create_kwargs(spec: GlueDatabaseSpec) -> dict[str, Any]:
        """CreateDatabase's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {"DatabaseInput": {"Name": spec.name, "Description": spec.description}, "Tags": spec.tags}

    def create(self, spec: GlueDatabaseSpec) -> None:
        self.clients.client("glue").create_database(**self.create_kwargs(spec))

    def update(self, spec: GlueDatabaseSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        if any(c.field == "description" for c in changes):
            self.clients.client("glue").update_database(Name=spec.name, DatabaseInput={"Name": spec.name, "Description": spec.description})
        self._write_tags(spec, current)

    def delete(self, name: str) -> None:  # pragma: no cover - retained
        self.clients.client("glue").delete_database(Name=name)


KIND = Kind(
    spec=GlueDatabaseSpec, handler=GlueDatabaseHandler,
    reads=("glue:GetDatabase", "glue:GetTags"),
    writes=("glue:CreateDatabase", "glue:UpdateDatabase", "glue:TagResource", "glue:UntagResource"),
    arns=lambda s, arns, p: [arns.glue_catalog(), arns.glue_database(p(s.name))],
    requests=lambda s, region: [Request("glue", "CreateDatabase", GlueDatabaseHandler.create_kwargs(s))],
    tag_limit=(50, "Glue databases"),  # https://docs.aws.amazon.com/glue/latest/dg/monitor-tags.html
    case_insensitive_names=True,  # Glue stores database names in lower case
)
