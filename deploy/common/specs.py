"""Desired state: one immutable dataclass per resource kind. Building specs makes no AWS call.

A spec says what should exist. Names and ARNs are derived from config, so every reference
between resources (a function's role, the state machine's task ARNs) is known before deploying.
``depends_on`` lists the keys of specs that must exist first (role before function, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .packaging import content_sha256


@dataclass(frozen=True, eq=False)
class Spec:
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


@dataclass(frozen=True, eq=False)
class BucketSpec(Spec):
    """``append_only``: key patterns (e.g. ``_deployer/*/history/*``) the bucket policy lets nobody delete or
    overwrite; ``object_lock``: S3 Object Lock enabled, so objects may be written with a retention."""

    kind: ClassVar[str] = "s3_bucket"
    versioned: bool = True
    eventbridge_notifications: bool = False
    tls_only: bool = True
    append_only: tuple[str, ...] = ()
    object_lock: bool = False


@dataclass(frozen=True, eq=False)
class ObjectSpec(Spec):
    """An S3 object (a Glue script); ``name`` is ``bucket/key``. ``sha256`` is the body's content hash
    (derived from ``body``; a spec read back from history keeps the hash without the body)."""

    kind: ClassVar[str] = "s3_object"
    bucket: str = ""
    object_key: str = ""
    body: bytes = b""
    content_type: str = "text/x-python"
    sha256: str = ""

    def __post_init__(self) -> None:
        if self.body and not self.sha256:
            object.__setattr__(self, "sha256", content_sha256(self.body))


@dataclass(frozen=True, eq=False)
class RoleSpec(Spec):
    kind: ClassVar[str] = "iam_role"
    trust_service: str = ""
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""
    permissions_boundary: str = ""  # ARN of the managed policy capping what the role may ever do


@dataclass(frozen=True, eq=False)
class ManagedPolicySpec(Spec):
    """A customer-managed IAM policy (the environment's permissions boundary)."""

    kind: ClassVar[str] = "iam_policy"
    document: dict[str, Any] = field(default_factory=dict)
    description: str = ""  # set on create only: IAM has no call to change a policy's description


@dataclass(frozen=True, eq=False)
class LogGroupSpec(Spec):
    kind: ClassVar[str] = "log_group"
    retention_days: int = 30


@dataclass(frozen=True, eq=False)
class FunctionSpec(Spec):
    kind: ClassVar[str] = "lambda_function"
    role_arn: str = ""
    runtime: str = "python3.12"
    handler: str = "handler.handler"
    memory_mb: int = 256
    timeout_seconds: int = 60
    architecture: str = "x86_64"
    environment: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    description: str = ""
    zip_bytes: bytes = b""
    code_sha256: str = ""
    alias: str = "live"


@dataclass(frozen=True, eq=False)
class GlueDatabaseSpec(Spec):
    kind: ClassVar[str] = "glue_database"
    description: str = ""


@dataclass(frozen=True, eq=False)
class GlueJobSpec(Spec):
    kind: ClassVar[str] = "glue_job"
    role_arn: str = ""
    script_location: str = ""
    glue_version: str = "5.0"
    worker_type: str = "G.1X"
    number_of_workers: int = 2
    timeout_minutes: int = 60
    max_retries: int = 0
    max_concurrent_runs: int = 1
    default_arguments: dict[str, str] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True, eq=False)
class CrawlerSpec(Spec):
    kind: ClassVar[str] = "glue_crawler"
    role_arn: str = ""
    database: str = ""
    s3_targets: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    schedule: str | None = None
    update_behavior: str = "UPDATE_IN_DATABASE"
    delete_behavior: str = "LOG"
    table_prefix: str = ""
    description: str = ""


@dataclass(frozen=True, eq=False)
class StateMachineSpec(Spec):
    kind: ClassVar[str] = "state_machine"
    arn: str = ""
    role_arn: str = ""
    definition: dict[str, Any] = field(default_factory=dict)
    log_group_arn: str = ""
    log_level: str = "ERROR"
    include_execution_data: bool = False
    tracing: bool = False


@dataclass(frozen=True, eq=False)
class EventRuleSpec(Spec):
    kind: ClassVar[str] = "event_rule"
    event_pattern: dict[str, Any] = field(default_factory=dict)
    target_arn: str = ""
    target_role_arn: str = ""
    description: str = ""
