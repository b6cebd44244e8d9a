"""What every resource kind is made of: its spec (desired state), its handler (read, diff, create, update, delete),
and its ``Kind`` declaration (IAM actions and ARNs for the deployer policy, the requests validate checks).

A kind is one module of this package that defines ``KIND``; the package finds it by being there.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError

from ..aws_common import AwsClients, error_code
from ..naming import Arns
from ..plan import Change, FieldChange
from ..tagging import comparable_tags

if TYPE_CHECKING:
    from ..iam_policies import Accepted


@dataclass(frozen=True, eq=False)
class Spec:
    """Desired state of one resource: an immutable dataclass per kind. Building specs makes no AWS call.

    Names and ARNs are derived from config, so every reference between resources (a function's role, the
    state machine's task ARNs) is known before deploying. ``depends_on`` lists the keys of specs that must
    exist first (role before function, ...); deletions run in the reverse order.
    """

    kind: ClassVar[str] = ""
    name: str
    component: str
    tags: dict[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return resource_key(self.kind, self.name)


def resource_key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


@dataclass(frozen=True)
class Request:
    """One call a handler makes on create: ``service``/``operation`` as botocore names them (checked by validate)."""

    service: str
    operation: str
    params: dict[str, Any]


NamePattern = Callable[[str], str]  # a name -> the project's name space in it (fpac-prod-x -> fpac-prod-*)


@dataclass(frozen=True)
class Kind:
    """Everything the deployer needs to know about one kind of resource, declared beside its spec and handler."""

    spec: type[Spec]
    handler: type[ResourceHandler]
    reads: tuple[str, ...]  # IAM actions plan (and the waiters) need on the kind's resources
    writes: tuple[str, ...]  # IAM actions create, update and delete need on them
    arns: Callable[[Spec, Arns, NamePattern], list[str]]  # the resources those actions are on
    requests: Callable[[Spec, str], list[Request]]  # what create sends (spec, region), checked against the service model
    tag_limit: tuple[int, str]  # tags AWS allows per resource (the deployer's own five included), and the resource's noun
    case_insensitive_names: bool = False  # AWS compares names regardless of case (IAM; Glue stores databases lower case)
    policy_arns: Callable[[list[Spec], Arns, NamePattern], list[str]] | None = None  # instead of ``arns`` per spec
    # What AWS documents but the service model does not carry, for validate: (problem, the value at fault or None).
    limits: Callable[[Spec], list[tuple[str, Any]]] | None = None
    # parliament findings the kind's actions cause in the deployer policy, reviewed and accepted (deployer_policy.py)
    accepted_findings: tuple[Accepted, ...] = ()
    # (bucket, prefix) the plan lists (ListObjectsV2) to read the kind's resources: s3:ListBucket on the bucket, granted
    # for those prefixes only (condition s3:prefix) unless the bucket is one the deployment manages (listed whole then)
    listings: Callable[[list[Spec]], list[tuple[str, str]]] | None = None

    @property
    def name(self) -> str:
        return self.spec.kind


class ResourceHandler(ABC):
    """Reads and writes one kind of resource. ``read`` and ``desired`` return the same field names; ``read`` may add
    keys starting with ``_``, never compared (only ``desired``'s keys are): what the same calls showed that the apply
    or the snapshot needs (the version a Lambda alias serves, a state machine's revision).

    What a plan read is handed to the apply (``current``, as ``read`` returned it, tags and all), so that an update
    writes from it rather than reading the resource again."""

    kind: str = ""
    #: Resources of this kind are never deleted by the deployer (they hold data); dropped from the record only.
    retained_on_removal: bool = False
    #: The plan reads this kind's resources together (``read_many``: one call for several), not one by one.
    batched: bool = False

    def __init__(self, clients: AwsClients, arns: Arns):
        self.clients = clients
        self.arns = arns

    @abstractmethod
    def desired(self, spec: Spec) -> dict[str, Any]:
        """The comparable fields of the spec."""

    @abstractmethod
    def read(self, spec: Spec) -> dict[str, Any] | None:
        """The comparable fields as they exist in AWS, or None when the resource does not exist."""

    def read_many(self, specs: list[Spec]) -> list[dict[str, Any] | None]:
        """``read`` of each spec, in order. A kind whose API answers for several resources at once (a listing, a
        batch get) overrides it and sets ``batched``, so that a plan makes one call for all of them."""
        return [self.read(spec) for spec in specs]

    @abstractmethod
    def create(self, spec: Spec) -> None: ...

    @abstractmethod
    def update(self, spec: Spec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        """Make the resource what ``spec`` says, where ``changes`` differ. ``current``: what the plan read (``read``'s
        answer), so nothing is read again; None (a rollback, a test) reads what the update needs."""

    @abstractmethod
    def read_tags(self, name: str) -> dict[str, str] | None:
        """All tags of the named resource, or None when it does not exist."""

    @abstractmethod
    def delete(self, name: str) -> None: ...

    def pin(self, spec: Spec, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The artifact version this resource serves now (a Lambda version, an S3 object version, a state
        machine revision), recorded in history so a rollback can bring it back; None for kinds without one.
        ``current``: what the plan read of a resource the apply did not change, when that read shows the version."""
        return None

    def restore(self, spec: Spec, pin: dict[str, Any]) -> None:
        """Serve the recorded artifact version again (rollback), without re-uploading anything."""
        raise NotImplementedError(f"{self.kind} has no artifact versions to restore")

    def observed(self, spec: Spec) -> dict[str, Any] | None:
        """What the resource serves, in ``desired``'s terms, for drift (by default what ``read`` shows)."""
        return self.read(spec)

    def preflight(self, changes: list[Change]) -> None:
        """Refuse (raise a DeployerError) a plan AWS would refuse half-way through its apply: limits that
        depend on the account, checked with reads once the plan of this kind is known."""

    def desired_with_tags(self, spec: Spec) -> dict[str, Any]:
        return {**self.desired(spec), "tags": comparable_tags(spec.tags)}

    def current_tags(self, name: str, current: dict[str, Any] | None) -> dict[str, str] | None:
        """The resource's tags as the plan read them (``current``), else read now."""
        if current is not None and "tags" in current:
            return current["tags"]
        return self.read_tags(name)


def missing_is_none(call, *codes: str) -> Any:
    """Run a read; return None when AWS says the resource does not exist (the given error codes)."""
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in codes:
            return None
        raise


def tag_delta(current: dict[str, str] | None, desired: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Tags to set (all desired ones that differ, provenance included) and keys to remove."""
    current = current or {}
    to_set = {k: v for k, v in desired.items() if current.get(k) != v}
    to_remove = [k for k in comparable_tags(current) if k not in desired]
    return to_set, to_remove


def changed(changes: tuple[FieldChange, ...], *names: str) -> bool:
    return any(c.field in names for c in changes)
