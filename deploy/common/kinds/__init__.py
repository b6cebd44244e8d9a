"""The kinds of resource the deployer manages: one module each, registered by being there.

A kind's module defines its spec (a frozen dataclass of desired state), its handler (read, diff,
create, update, delete against AWS) and ``KIND``: the IAM actions and ARNs the deployer policy
grants for it, and the requests ``validate`` checks against the service model. Adding a kind is
adding a module here; nothing else lists kinds. (``docs/adding-a-resource-kind.md`` walks through one.)
"""
from __future__ import annotations

import importlib
import pkgutil

from ..aws_common import AwsClients
from ..naming import Arns
from .base import Kind, Request, ResourceHandler, Spec, resource_key


def _discover() -> dict[str, Kind]:
    found: dict[str, Kind] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        kind = getattr(importlib.import_module(f"{__name__}.{info.name}"), "KIND", None)
        if isinstance(kind, Kind):
            if kind.name in found:
                raise RuntimeError(f"resource kind '{kind.name}' is defined twice (kinds/{info.name}.py)")
            found[kind.name] = kind
    return found


KINDS: dict[str, Kind] = _discover()
KNOWN_KINDS = frozenset(KINDS)


def build_handlers(clients: AwsClients, arns: Arns) -> dict[str, ResourceHandler]:
    return {name: kind.handler(clients, arns) for name, kind in KINDS.items()}


def spec_type(kind: str) -> type[Spec]:
    """The spec class of a kind (ValueError when no module defines it)."""
    if kind not in KINDS:
        raise ValueError(f"unknown resource kind {kind!r}")
    return KINDS[kind].spec


__all__ = ["KINDS", "KNOWN_KINDS", "Kind", "Request", "ResourceHandler", "Spec", "build_handlers", "resource_key", "spec_type"]
