"""What a deployment deployed, as data: every spec (without its code bytes) plus the artifact versions
it left live — the Lambda version behind each alias, the S3 version of each script, the state
machine's revision. History entries keep one, so ``rollback`` and ``drift`` can compare with it.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from .kinds import spec_type
from .kinds.base import Spec

# Bytes are never stored: a function keeps its code_sha256, an object its sha256.
_DROPPED = {"zip_bytes", "body"}


def spec_to_json(spec: Spec) -> dict[str, Any]:
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name not in _DROPPED}
    return {"kind": spec.kind, **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}}


def spec_from_json(document: dict[str, Any]) -> Spec:
    """The spec a snapshot describes (code bytes absent). Unknown kinds or fields raise ValueError."""
    cls = spec_type(document.get("kind", ""))
    kind = cls.kind
    values = {k: v for k, v in document.items() if k != "kind"}
    tuple_fields = {f.name for f in dataclasses.fields(cls) if str(f.type).startswith("tuple")}
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ValueError(f"{kind}: unknown fields {sorted(unknown)}")
    return cls(**{k: tuple(v) if k in tuple_fields and isinstance(v, list) else v for k, v in values.items()})


@dataclasses.dataclass
class Snapshot:
    """Specs by key, and the pins (artifact versions) read after the apply."""

    specs: dict[str, Spec]
    pins: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"resources": [{"spec": spec_to_json(s), **({"pin": self.pins[k]} if k in self.pins else {})}
                              for k, s in sorted(self.specs.items())]}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> "Snapshot":
        specs: dict[str, Spec] = {}
        pins: dict[str, dict[str, Any]] = {}
        for item in document.get("resources", []):
            spec = spec_from_json(item["spec"])
            specs[spec.key] = spec
            if item.get("pin"):
                pins[spec.key] = item["pin"]
        return cls(specs, pins)

