"""Lambda functions: code compared by CodeSha256 without uploading; a version published and the
alias moved only when something changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .. import retry
from ..errors import LimitError
from ..naming import role_name
from ..plan import Change, FieldChange
from ..retry import LAMBDA_ROLE_NOT_READY, LAMBDA_UPDATE_IN_PROGRESS, call_with_retries
from .base import Kind, Request, ResourceHandler, Spec, changed, missing_is_none, tag_delta


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


CONFIG_FIELDS = ("runtime", "handler", "role", "memory_mb", "timeout_seconds", "environment", "description")
ALIAS_IN_SYNC = "points at the current code and config"
# Lambda's own waiters (GetFunction until State Active / LastUpdateStatus Successful), polled every
# second for up to 10 minutes, as Terraform's create/update timeouts allow.
WAIT = {"Delay": 1, "MaxAttempts": 600}
MIN_UNRESERVED_CONCURRENCY = 100  # AWS keeps this many concurrent executions unreserved in every account
# Read with the rest, never diffed: the version the alias serves and its code and configuration (drift, the snapshot's pin).
SERVED_VERSION, SERVED = "_served_version", "_served"


def _comparable_config(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "runtime": config.get("Runtime"),
        "handler": config.get("Handler"),
        "role": config.get("Role"),
        "memory_mb": config.get("MemorySize"),
        "timeout_seconds": config.get("Timeout"),
        "environment": config.get("Environment", {}).get("Variables", {}),
        "description": config.get("Description", ""),
        "architecture": (config.get("Architectures") or ["x86_64"])[0],
        "code_sha256": config.get("CodeSha256"),
    }


class FunctionHandler(ResourceHandler):
    kind = FunctionSpec.kind

    def desired(self, spec: FunctionSpec) -> dict[str, Any]:
        return {
            "runtime": spec.runtime,
            "handler": spec.handler,
            "role": spec.role_arn,
            "memory_mb": spec.memory_mb,
            "timeout_seconds": spec.timeout_seconds,
            "environment": dict(spec.environment),
            "description": spec.description,
            "architecture": spec.architecture,
            "code_sha256": spec.code_sha256,
            "reserved_concurrency": spec.reserved_concurrency,
            "alias": ALIAS_IN_SYNC,
        }

    def read(self, spec: FunctionSpec) -> dict[str, Any] | None:
        """Two calls: GetFunction ($LATEST's code and configuration, the reserved concurrency, the tags) and
        GetFunctionConfiguration of the alias (the version it serves, with that version's code and configuration)."""
        lam = self.clients.client("lambda")
        found = missing_is_none(lambda: lam.get_function(FunctionName=spec.name), "ResourceNotFoundException")
        if found is None:
            return None
        latest = _comparable_config(found["Configuration"])
        served = missing_is_none(lambda: lam.get_function_configuration(FunctionName=spec.name, Qualifier=spec.alias),
                                 "ResourceNotFoundException")
        served_config = None if served is None else _comparable_config(served)
        if served is None:
            alias = "missing"
        else:  # whether the alias serves $LATEST's code and configuration (a failed run may have left it behind)
            alias = ALIAS_IN_SYNC if served_config == latest else f"behind (version {served['Version']})"
        return {
            **latest,
            "reserved_concurrency": found.get("Concurrency", {}).get("ReservedConcurrentExecutions"),
            "alias": alias,
            "tags": found.get("Tags", {}),
            SERVED_VERSION: None if served is None else served["Version"],
            SERVED: served_config,
        }

    @staticmethod
    def _config_kwargs(spec: FunctionSpec) -> dict[str, Any]:
        return {
            "FunctionName": spec.name,
            "Runtime": spec.runtime,
            "Handler": spec.handler,
            "Role": spec.role_arn,
            "MemorySize": spec.memory_mb,
            "Timeout": spec.timeout_seconds,
            "Environment": {"Variables": dict(spec.environment)},
            "Description": spec.description,
        }

    def preflight(self, changes: list[Change]) -> None:
        """Refuse a plan whose reserved concurrency would leave fewer than 100 unreserved executions (AWS would
        refuse PutFunctionConcurrency half-way through the apply). One read, only when reservations change."""
        moves = [(c, next(f for f in c.fields if f.field == "reserved_concurrency")) for c in changes
                 if c.action in ("create", "update") and changed(c.fields, "reserved_concurrency")]
        moves = [(c, f) for c, f in moves if (f.new or 0) != (f.old or 0)]
        if sum((f.new or 0) - (f.old or 0) for _, f in moves) <= 0:
            return  # reservations only shrink: more stays unreserved
        limit = self.clients.client("lambda").get_account_settings()["AccountLimit"]
        unreserved = limit["UnreservedConcurrentExecutions"] + sum((f.old or 0) - (f.new or 0) for _, f in moves)
        if unreserved < MIN_UNRESERVED_CONCURRENCY:
            change, field = max(moves, key=lambda m: m[1].new or 0)
            raise LimitError(
                f"lambda_function {change.name}: reserved_concurrency {field.new} would leave {unreserved} of the account's "
                f"{limit['ConcurrentExecutions']} concurrent executions unreserved; AWS keeps at least "
                f"{MIN_UNRESERVED_CONCURRENCY} unreserved (lower reserved_concurrency or raise the account quota)")

    def _wait(self, spec: FunctionSpec, waiter: str, what: str) -> None:
        retry.report(f"waiting for {what}")
        self.clients.client("lambda").get_waiter(waiter).wait(FunctionName=spec.name, WaiterConfig=WAIT)

    @staticmethod
    def create_kwargs(spec: FunctionSpec) -> dict[str, Any]:
        """CreateFunction's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {**FunctionHandler._config_kwargs(spec), "Code": {"ZipFile": spec.zip_bytes}, "Architectures": [spec.architecture],
                "Tags": spec.tags, "Publish": True}

    def create(self, spec: FunctionSpec) -> None:
        lam = self.clients.client("lambda")
        kwargs = self.create_kwargs(spec)
        created = call_with_retries(lambda: lam.create_function(**kwargs), LAMBDA_ROLE_NOT_READY,
                                    retry.budgets.role_propagation, role_name(spec.role_arn))
        self._wait(spec, "function_active_v2", "the new function to become Active")
        if spec.reserved_concurrency is not None:
            lam.put_function_concurrency(FunctionName=spec.name, ReservedConcurrentExecutions=spec.reserved_concurrency)
        lam.create_alias(FunctionName=spec.name, Name=spec.alias, FunctionVersion=created["Version"])

    def update(self, spec: FunctionSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        lam = self.clients.client("lambda")
        in_progress = retry.budgets.update_in_progress
        if changed(changes, "code_sha256", "architecture"):
            call_with_retries(lambda: lam.update_function_code(
                FunctionName=spec.name, ZipFile=spec.zip_bytes, Architectures=[spec.architecture]),
                LAMBDA_UPDATE_IN_PROGRESS, in_progress)
            self._wait(spec, "function_updated_v2", "the code update to finish")
        if changed(changes, *CONFIG_FIELDS):
            kwargs = self._config_kwargs(spec)
            update_config = lambda: call_with_retries(  # noqa: E731 - a role in the update may still be propagating
                lambda: lam.update_function_configuration(**kwargs), LAMBDA_ROLE_NOT_READY, retry.budgets.role_propagation,
                role_name(spec.role_arn))
            call_with_retries(update_config, LAMBDA_UPDATE_IN_PROGRESS, in_progress)
            self._wait(spec, "function_updated_v2", "the configuration update to finish")
        if changed(changes, "reserved_concurrency"):
            if spec.reserved_concurrency is None:
                lam.delete_function_concurrency(FunctionName=spec.name)
            else:
                lam.put_function_concurrency(FunctionName=spec.name, ReservedConcurrentExecutions=spec.reserved_concurrency)
        if changed(changes, "code_sha256", "architecture", "alias", *CONFIG_FIELDS):
            self._publish(spec, current)
        self._write_tags(spec, current)

    def _publish(self, spec: FunctionSpec, current: dict[str, Any] | None) -> None:
        lam = self.clients.client("lambda")
        version = call_with_retries(lambda: lam.publish_version(FunctionName=spec.name), LAMBDA_UPDATE_IN_PROGRESS,
                                    retry.budgets.update_in_progress)["Version"]
        if current is not None and SERVED_VERSION in current:  # the plan read which version the alias serves
            served = current[SERVED_VERSION]
        else:
            alias = missing_is_none(lambda: lam.get_alias(FunctionName=spec.name, Name=spec.alias), "ResourceNotFoundException")
            served = None if alias is None else alias["FunctionVersion"]
        if served is None:
            lam.create_alias(FunctionName=spec.name, Name=spec.alias, FunctionVersion=version)
        elif served != version:
            lam.update_alias(FunctionName=spec.name, Name=spec.alias, FunctionVersion=version)

    def pin(self, spec: FunctionSpec, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
        if current is not None and SERVED_VERSION in current:
            return None if current[SERVED_VERSION] is None else {"version": current[SERVED_VERSION]}
        lam = self.clients.client("lambda")
        alias = missing_is_none(lambda: lam.get_alias(FunctionName=spec.name, Name=spec.alias), "ResourceNotFoundException")
        return None if alias is None else {"version": alias["FunctionVersion"]}

    def restore(self, spec: FunctionSpec, pin: dict[str, Any]) -> None:
        """Point the alias back at the recorded version: its code and configuration, as published then."""
        self.clients.client("lambda").update_alias(FunctionName=spec.name, Name=spec.alias, FunctionVersion=pin["version"])

    def version_exists(self, spec: FunctionSpec, version: str) -> bool:
        lam = self.clients.client("lambda")
        return missing_is_none(lambda: lam.get_function_configuration(FunctionName=spec.name, Qualifier=version),
                               "ResourceNotFoundException") is not None

    def observed(self, spec: FunctionSpec) -> dict[str, Any] | None:
        """What the alias serves: the aliased version's code and configuration, not $LATEST (``read`` has them)."""
        current = self.read(spec)
        if current is None or current[SERVED] is None:
            return current
        return {**current, **current[SERVED], "alias": ALIAS_IN_SYNC}

    def _write_tags(self, spec: FunctionSpec, current: dict[str, Any] | None) -> None:
        lam = self.clients.client("lambda")
        arn = self.arns.function(spec.name)
        to_set, to_remove = tag_delta(self.current_tags(spec.name, current), spec.tags)
        if to_set:
            lam.tag_resource(Resource=arn, Tags=to_set)
        if to_remove:
            lam.untag_resource(Resource=arn, TagKeys=to_remove)

    def read_tags(self, name: str) -> dict[str, str] | None:
        lam = self.clients.client("lambda")
        found = missing_is_none(lambda: lam.list_tags(Resource=self.arns.function(name)), "ResourceNotFoundException")
        return None if found is None else dict(found.get("Tags", {}))

    def delete(self, name: str) -> None:
        self.clients.client("lambda").delete_function(FunctionName=name)


KIND = Kind(
    spec=FunctionSpec, handler=FunctionHandler,
    reads=("lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:GetAlias", "lambda:ListTags"),
    writes=("lambda:CreateFunction", "lambda:DeleteFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
            "lambda:PublishVersion", "lambda:CreateAlias", "lambda:UpdateAlias", "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency", "lambda:TagResource", "lambda:UntagResource"),
    arns=lambda s, arns, p: [arns.function(p(s.name))],  # the pattern covers the function's qualified ARNs too
    requests=lambda s, region: [
        Request("lambda", "CreateFunction", FunctionHandler.create_kwargs(s)),
        Request("lambda", "CreateAlias", {"FunctionName": s.name, "Name": s.alias, "FunctionVersion": "1"}),
        *([Request("lambda", "PutFunctionConcurrency", {"FunctionName": s.name, "ReservedConcurrentExecutions": s.reserved_concurrency})]
          if s.reserved_concurrency is not None else []),
    ],
    tag_limit=(50, "Lambda functions"),  # https://docs.aws.amazon.com/lambda/latest/dg/configuration-tags.html
)
