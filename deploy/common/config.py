"""The environment config: a typed, validated model of ``config/<env>.json``.

One file per environment; no code differs between dev and prod. Unknown keys are errors (a typo
must never be silently ignored), and every error names the file and the field in one line.
Each project validates its own section (``projects.<name>``) with the ``Settings`` model its
``deploy.py`` defines, built from the component settings below.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError

LOCAL_ENDPOINT = "local"
LOCAL_ACCOUNT_ID = "123456789012"  # the account moto answers with
REGION_PLACEHOLDER = "{region}"  # in a bucket name: replaced by the region deployed to (see regions.py)


class GlobalName:
    """Marks a config field whose value is global in AWS (an S3 bucket name): with several regions
    allowed, it must contain REGION_PLACEHOLDER (checked by ``regions.check_bucket_names``)."""


GLOBAL_NAME = GlobalName()

AwsRegion = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$", examples=["us-east-2"])]
BucketName = Annotated[
    str, Field(min_length=3, max_length=63, pattern=r"^(?:[a-z0-9]|\{region\})(?:[a-z0-9.-]|\{region\})*(?:[a-z0-9]|\{region\})$",
               examples=["acme-fpac-dev-artifacts", "acme-fpac-prod-artifacts-{region}"]),
    GLOBAL_NAME,
]
TagMap = dict[Annotated[str, Field(min_length=1, max_length=128)], Annotated[str, Field(max_length=256)]]
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AwsAccess(StrictModel):
    """How to reach AWS for this environment."""

    profile: str | None = Field(None, description="Named profile from ~/.aws (omit on Jenkins; use its credential binding).")
    assume_role_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$", description="Role the deployer assumes before any call."
    )
    endpoint: str | None = Field(
        None, description="'local' for the embedded local AWS, an http(s) URL for another emulator, omit for real AWS."
    )
    retry_mode: Literal["standard", "adaptive"] = "standard"
    max_attempts: int = Field(8, ge=1, le=20, description="botocore total attempts per call, retries included.")

    @field_validator("endpoint")
    @classmethod
    def _endpoint_form(cls, value: str | None) -> str | None:
        if value is not None and value != LOCAL_ENDPOINT and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be 'local' or an http(s) URL")
        return value


class LambdaSettings(StrictModel):
    """Settings of one Lambda function (any field left out takes the project's default)."""

    memory_mb: int | None = Field(None, ge=128, le=10240)
    timeout_seconds: int | None = Field(None, ge=1, le=900)
    reserved_concurrency: int | None = Field(None, ge=0)
    environment: dict[str, str] = Field(default_factory=dict, description="Extra environment variables (no secrets).")


class LambdaDefaults(StrictModel):
    runtime: Literal["python3.11", "python3.12", "python3.13"] = "python3.12"
    memory_mb: int = Field(256, ge=128, le=10240)
    timeout_seconds: int = Field(60, ge=1, le=900)
    architecture: Literal["x86_64", "arm64"] = "x86_64"


class GlueJobSettings(StrictModel):
    """Settings of one Glue job (any field left out takes the project's default)."""

    worker_type: Literal["G.025X", "G.1X", "G.2X", "G.4X", "G.8X"] | None = None
    number_of_workers: int | None = Field(None, ge=2, le=299)
    timeout_minutes: int | None = Field(None, ge=1, le=2880)
    max_retries: int | None = Field(None, ge=0, le=10)
    max_concurrent_runs: int | None = Field(None, ge=1, le=100)


class GlueDefaults(StrictModel):
    glue_version: Literal["4.0", "5.0"] = "5.0"
    worker_type: Literal["G.025X", "G.1X", "G.2X", "G.4X", "G.8X"] = "G.1X"
    number_of_workers: int = Field(2, ge=2, le=299)
    timeout_minutes: int = Field(60, ge=1, le=2880)
    max_retries: int = Field(0, ge=0, le=10)
    max_concurrent_runs: int = Field(1, ge=1, le=100)
    job_bookmarks: Literal["job-bookmark-enable", "job-bookmark-disable", "job-bookmark-pause"] = "job-bookmark-disable"


class CrawlerSettings(StrictModel):
    schedule: str | None = Field(
        None, pattern=r"^cron\(.+\)$", description="Glue cron schedule, e.g. 'cron(0 6 * * ? *)'; omit to run on demand only."
    )
    update_behavior: Literal["UPDATE_IN_DATABASE", "LOG"] = "UPDATE_IN_DATABASE"
    delete_behavior: Literal["LOG", "DELETE_FROM_DATABASE", "DEPRECATE_IN_DATABASE"] = "LOG"
    table_prefix: str = Field("", max_length=64, pattern=r"^[a-z0-9_]*$")


class StateMachineSettings(StrictModel):
    log_level: Literal["ALL", "ERROR", "FATAL", "OFF"] = "ERROR"
    include_execution_data: bool = False
    tracing: bool = False


class EnvironmentConfig(StrictModel):
    """One deployment environment (dev, test, prod, local)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "Pipeline deployer environment config"})

    schema_: str | None = Field(None, alias="$schema", description="Path of the JSON Schema, for editors.")
    environment: str = Field(..., pattern=r"^[a-z][a-z0-9]{1,9}$", description="Short environment name used in every resource name.")
    account_id: str = Field(..., pattern=r"^\d{12}$", description="The AWS account this environment lives in; checked before any write.")
    regions: list[AwsRegion] = Field(..., min_length=1, description="Regions this config may be deployed to; --region must be one.")
    aws: AwsAccess = Field(default_factory=AwsAccess)
    artifact_bucket: BucketName = Field(
        ..., description="Shared, versioned, encrypted bucket for scripts, the deployer's records and its lock. "
                         "{region} is replaced by the region; required when several regions are allowed."
    )
    log_retention_days: int = Field(30, description="CloudWatch Logs retention for every log group.")
    tags: TagMap = Field(default_factory=dict, description="Extra tags put on every resource.")
    projects: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-project settings, validated by each project's own model."
    )

    @field_validator("log_retention_days")
    @classmethod
    def _retention_allowed(cls, value: int) -> int:
        if value not in RETENTION_DAYS:
            raise ValueError(f"must be one of CloudWatch's values: {', '.join(map(str, RETENTION_DAYS))}")
        return value

    @field_validator("tags")
    @classmethod
    def _no_reserved_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        for key in tags:
            if key.lower().startswith(("aws:", "deployer:")):
                raise ValueError(f"tag key '{key}' is reserved (aws: and deployer: prefixes)")
        return tags

    @model_validator(mode="after")
    def _buckets_differ(self) -> "EnvironmentConfig":
        if self.is_local and self.account_id != LOCAL_ACCOUNT_ID:
            raise ValueError(f"account_id must be {LOCAL_ACCOUNT_ID} with the embedded local AWS")
        return self

    @property
    def is_local(self) -> bool:
        return self.aws.endpoint == LOCAL_ENDPOINT

    @property
    def tls_endpoint(self) -> bool:
        """False for a plain-http emulator, where a TLS-only bucket policy would deny every request."""
        return not (self.is_local or (self.aws.endpoint or "").startswith("http://"))


def format_validation_error(source: str, error: ValidationError, field_prefix: tuple[str, ...] = ()) -> str:
    """One line naming the file and the first failing field, plus a count of the others."""
    first = error.errors()[0]
    field = ".".join(str(p) for p in (*field_prefix, *first["loc"])) or "(top level)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (not part of the schema)"
    elif first["type"] == "missing":
        message = "required field is missing"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {field}: {message}{suffix}"


def read_json_file(path: Path, what: str = "config") -> Any:
    """Parse a JSON file, turning every failure into one ConfigError line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} file unreadable: {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def load_config(path: Path) -> EnvironmentConfig:
    """Load and validate an environment config file."""
    data = read_json_file(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object")
    try:
        return EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from None


def check_region(config: EnvironmentConfig, region: str, source: str) -> None:
    """``--region`` must be one the config allows: never a silent override."""
    if region not in config.regions:
        raise ConfigError(f"{source}: regions: --region {region} is not allowed by this config (allowed: {', '.join(config.regions)})")


def project_settings(config: EnvironmentConfig, project: str, model: type[BaseModel], source: str) -> BaseModel:
    """Validate the config's section for ``project`` with the project's own model."""
    try:
        return model.model_validate(config.projects.get(project, {}))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc, ("projects", project))) from None
