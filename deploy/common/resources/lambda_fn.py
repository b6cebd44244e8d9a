"""Lambda functions: code compared by CodeSha256 without uploading; a version published and the
alias moved only when something changed."""
from __future__ import annotations

from typing import Any

from ..plan import FieldChange
from ..retry import ROLE_NOT_READY, UPDATE_IN_PROGRESS, call_with_retries
from ..specs import FunctionSpec
from .base import ResourceHandler, changed, missing_is_none, tag_delta

CONFIG_FIELDS = ("runtime", "handler", "role", "memory_mb", "timeout_seconds", "environment", "description")
ALIAS_IN_SYNC = "points at the current code and config"
WAIT = {"Delay": 1, "MaxAttempts": 120}


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
        lam = self.clients.client("lambda")
        found = missing_is_none(lambda: lam.get_function(FunctionName=spec.name), "ResourceNotFoundException")
        if found is None:
            return None
        latest = _comparable_config(found["Configuration"])
        return {
            **latest,
            "reserved_concurrency": found.get("Concurrency", {}).get("ReservedConcurrentExecutions"),
            "alias": self._alias_state(spec, latest),
            "tags": found.get("Tags", {}),
        }

    def _alias_state(self, spec: FunctionSpec, latest: dict[str, Any]) -> str:
        """Whether the alias serves the same code and config as $LATEST (a failed run may have left it behind)."""
        lam = self.clients.client("lambda")
        alias = missing_is_none(lambda: lam.get_alias(FunctionName=spec.name, Name=spec.alias), "ResourceNotFoundException")
        if alias is None:
            return "missing"
        version = lam.get_function_configuration(FunctionName=spec.name, Qualifier=alias["FunctionVersion"])
        return ALIAS_IN_SYNC if _comparable_config(version) == latest else f"behind (version {alias['FunctionVersion']})"

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

    @staticmethod
    def create_kwargs(spec: FunctionSpec) -> dict[str, Any]:
        """CreateFunction's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {**FunctionHandler._config_kwargs(spec), "Code": {"ZipFile": spec.zip_bytes}, "Architectures": [spec.architecture],
                "Tags": spec.tags, "Publish": True}

    def create(self, spec: FunctionSpec) -> None:
        lam = self.clients.client("lambda")
        kwargs = self.create_kwargs(spec)
        created = call_with_retries(lambda: lam.create_function(**kwargs), ROLE_NOT_READY)
        lam.get_waiter("function_active_v2").wait(FunctionName=spec.name, WaiterConfig=WAIT)
        if spec.reserved_concurrency is not None:
            lam.put_function_concurrency(FunctionName=spec.name, ReservedConcurrentExecutions=spec.reserved_concurrency)
        lam.create_alias(FunctionName=spec.name, Name=spec.alias, FunctionVersion=created["Version"])

    def update(self, spec: FunctionSpec, changes: tuple[FieldChange, ...]) -> None:
        lam = self.clients.client("lambda")
        if changed(changes, "code_sha256", "architecture"):
            call_with_retries(lambda: lam.update_function_code(
                FunctionName=spec.name, ZipFile=spec.zip_bytes, Architectures=[spec.architecture]), UPDATE_IN_PROGRESS)
            lam.get_waiter("function_updated_v2").wait(FunctionName=spec.name, WaiterConfig=WAIT)
        if changed(changes, *CONFIG_FIELDS):
            kwargs = self._config_kwargs(spec)
            call_with_retries(lambda: lam.update_function_configuration(**kwargs), UPDATE_IN_PROGRESS + ROLE_NOT_READY)
            lam.get_waiter("function_updated_v2").wait(FunctionName=spec.name, WaiterConfig=WAIT)
        if changed(changes, "reserved_concurrency"):
            if spec.reserved_concurrency is None:
                lam.delete_function_concurrency(FunctionName=spec.name)
            else:
                lam.put_function_concurrency(FunctionName=spec.name, ReservedConcurrentExecutions=spec.reserved_concurrency)
        if changed(changes, "code_sha256", "architecture", "alias", *CONFIG_FIELDS):
            self._publish(spec)
        self._write_tags(spec)

    def _publish(self, spec: FunctionSpec) -> None:
        lam = self.clients.client("lambda")
        version = call_with_retries(lambda: lam.publish_version(FunctionName=spec.name), UPDATE_IN_PROGRESS)["Version"]
        alias = missing_is_none(lambda: lam.get_alias(FunctionName=spec.name, Name=spec.alias), "ResourceNotFoundException")
        if alias is None:
            lam.create_alias(FunctionName=spec.name, Name=spec.alias, FunctionVersion=version)
        elif alias["FunctionVersion"] != version:
            lam.update_alias(FunctionName=spec.name, Name=spec.alias, FunctionVersion=version)

    def _write_tags(self, spec: FunctionSpec) -> None:
        lam = self.clients.client("lambda")
        arn = self.arns.function(spec.name)
        to_set, to_remove = tag_delta(self.read_tags(spec.name), spec.tags)
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
