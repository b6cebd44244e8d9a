"""The environment config: a typed, validated model of ``config/<env>.json``.

One file per environment; no code differs between dev and prod. Unknown keys are errors (a typo
must never be silently ignored), and every error names the file and the field in one line.
Each project validates its own section (``projects.<name>``) with the ``Settings`` model its
``deploy.py`` defines, built from the component settings below.
"""
from __future__ import annotations

import difflib
import json
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.json_schema import WithJsonSchema

from .errors import ConfigError

LOCAL_ENDPOINT = "local"
LOCAL_ACCOUNT_ID = "123456789012"  # the account moto answers with
REGION_PLACEHOLDER = "{region}"  # in a bucket name: replaced by the region deployed to (see regions.py)


class GlobalName:
    """Marks a config field whose value is global in AWS (an S3 bucket name): with several regions
    allowed, it must contain REGION_PLACEHOLDER (checked by ``regions.check_bucket_names``)."""


GLOBAL_NAME = GlobalName()

# ---- Limits AWS documents but botocore's models do not carry (aws_rules.py checks the models' own) ----------------

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (general purpose buckets)
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why S3 would refuse ``name`` for a general purpose bucket, or None."""
    if not 3 <= len(name) <= 63:
        return f"must be 3 to 63 characters long (is {len(name)})"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        return "may hold only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit"
    if ".." in name:
        return "must not contain two adjacent dots"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "must not be formatted like an IP address"
    for prefix in BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with '{prefix}' (reserved by S3)"
    for suffix in BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with '{suffix}' (reserved by S3)"
    return None


def _bucket_name_allowed(name: str) -> str:
    # A name holding REGION_PLACEHOLDER is checked once rendered (regions.check_bucket_names, aws_rules).
    if REGION_PLACEHOLDER not in name and (problem := bucket_name_problem(name)):
        raise ValueError(f"S3 bucket name {problem}")
    return name


# Python runtimes Lambda accepts for new functions (none deprecated): https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
LambdaRuntime = Literal["python3.11", "python3.12", "python3.13"]
# Glue versions, and the worker types a Spark ETL ("glueetl") job takes in each; G.025X is for streaming jobs only.
# https://docs.aws.amazon.com/glue/latest/dg/worker-types.html, https://docs.aws.amazon.com/glue/latest/dg/add-job.html
GlueVersion = Literal["4.0", "5.0"]
GlueWorkerType = Literal["G.1X", "G.2X", "G.4X", "G.8X"]
GLUE_ETL_WORKER_TYPES: dict[str, tuple[str, ...]] = {"4.0": ("G.1X", "G.2X", "G.4X", "G.8X"), "5.0": ("G.1X", "G.2X", "G.4X", "G.8X")}
GLUE_STREAMING_ONLY_WORKER_TYPES = ("G.025X",)


def _spark_etl_worker_type(value: Any) -> Any:
    if value in GLUE_STREAMING_ONLY_WORKER_TYPES:
        raise ValueError(f"{value} is for Glue streaming jobs only; a Spark ETL (glueetl) job takes G.1X, G.2X, G.4X or G.8X")
    return value


# Glue cron schedules: https://docs.aws.amazon.com/glue/latest/dg/monitor-data-warehouse-schedule.html
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_FIELDS = (  # name, lowest, highest, names of 1..n
    ("Minutes", 0, 59, ()), ("Hours", 0, 23, ()), ("Day-of-month", 1, 31, ()), ("Month", 1, 12, _MONTHS),
    ("Day-of-week", 1, 7, _DAYS), ("Year", 1970, 2199, ()),
)


def _cron_values(item: str, low: int, high: int, names: tuple[str, ...]) -> list[int] | None:
    """The values one item of a cron field (``*``, ``n``, ``a-b``, each optionally ``/step``) stands for; None if malformed."""
    def number(text: str) -> int | None:
        if text.upper() in names:
            return names.index(text.upper()) + 1
        return int(text) if text.isdigit() and low <= int(text) <= high else None

    base, slash, step_text = item.partition("/")
    step = int(step_text) if step_text.isdigit() and int(step_text) >= 1 else None
    if slash and step is None:
        return None
    if base == "*":
        start, end = low, high
    elif "-" in base:
        start, end = (number(part) for part in base.split("-", 1))
    else:
        start = number(base)
        end = high if step else start
    if start is None or end is None:
        return None
    return list(range(start, end + 1, step or 1)) if start <= end else [start, end]


def glue_cron_problem(expression: str) -> str | None:
    """Why Glue would refuse ``expression`` as a crawler or job schedule, or None."""
    match = re.fullmatch(r"cron\((.*)\)", expression)
    if not match:
        return "must be a Glue cron expression: cron(Minutes Hours Day-of-month Month Day-of-week Year)"
    fields = match.group(1).split()
    if len(fields) != 6:
        return f"a Glue cron expression has 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), not {len(fields)}"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "exactly one of Day-of-month and Day-of-week must be '?'"
    minutes: list[int] = []
    for (name, low, high, names), text in zip(_CRON_FIELDS, fields):
        if text == "?" and name in ("Day-of-month", "Day-of-week"):
            continue
        for item in text.split(","):
            if name == "Day-of-month" and re.fullmatch(r"L|LW|([1-9]|[12]\d|3[01])W", item):
                continue
            if name == "Day-of-week" and re.fullmatch(r"([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)?L", item, re.IGNORECASE):
                continue
            values = _cron_values(item, low, high, names)
            if values is None:
                allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
                return f"{name} field '{text}' is not valid ({allowed}, with , - * /)"
            if name == "Minutes":
                minutes.extend(values)
    minutes = sorted(set(minutes))
    wraps = len(minutes) > 1 and not fields[1].isdigit()  # from the last minute of one hour to the first of the next
    gaps = [b - a for a, b in zip(minutes, minutes[1:])] + ([60 - minutes[-1] + minutes[0]] if wraps else [])
    if gaps and min(gaps) < 5:
        return "runs more often than every 5 minutes, which Glue does not support"
    return None


AwsRegion = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$", examples=["us-east-2"])]
BucketName = Annotated[
    str, Field(min_length=3, max_length=63, pattern=r"^(?:[a-z0-9]|\{region\})(?:[a-z0-9.-]|\{region\})*(?:[a-z0-9]|\{region\})$",
               examples=["acme-fpac-dev-artifacts", "acme-fpac-prod-artifacts-{region}"]),
    GLOBAL_NAME,
    AfterValidator(_bucket_name_allowed),
]
# Config tags go on every resource, IAM roles and S3 objects included, whose rules are the strictest: letters, digits,
# spaces and _ . : / = + - @ (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html,
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html); keys 1-128 characters, values 0-256.
TAG_CHARACTERS = r"\p{L}\p{N} _.:/=+\-@"
# The schema's patterns are exact for ASCII and let any other character through (JSON Schema tools don't all know
# \p{L}); the model's patterns decide.
_SCHEMA_TAG_CHARACTERS = r"A-Za-z0-9 _.:/=+\-@\u0080-\uFFFF"
TagMap = Annotated[
    dict[
        Annotated[str, Field(min_length=1, max_length=128, pattern=rf"^[{TAG_CHARACTERS}]+$")],
        Annotated[str, Field(max_length=256, pattern=rf"^[{TAG_CHARACTERS}]*$")],
    ],
    WithJsonSchema({
        "type": "object",
        "propertyNames": {"minLength": 1, "maxLength": 128, "pattern": rf"^[{_SCHEMA_TAG_CHARACTERS}]+$"},
        "additionalProperties": {"type": "string", "maxLength": 256, "pattern": rf"^[{_SCHEMA_TAG_CHARACTERS}]*$"},
    }),
]
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"


class AwsAccess(StrictModel):
    """How to reach AWS for this environment."""

    profile: str | None = Field(None, description="Named profile from ~/.aws (omit on Jenkins; use its credential binding).")
    assume_role_arn: str | None = Field(
        None, pattern=ROLE_ARN, description="Role the deployer assumes before any call (deploy, destroy, unlock; plan and run "
                                            "too unless plan_role_arn / run_role_arn are given)."
    )
    plan_role_arn: str | None = Field(
        None, pattern=ROLE_ARN, description="Role `plan` assumes instead: one holding only the plan policy (deployer-policy --for plan)."
    )
    run_role_arn: str | None = Field(
        None, pattern=ROLE_ARN, description="Role `run` assumes instead: one holding the plan and run policies, never deploy."
    )
    permissions_boundary_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$",
        description="An existing managed policy that every pipeline role gets as its permissions boundary. "
                    "Omit it and the deployer creates and keeps pipeline-boundary-<env> (per region when several are allowed).",
    )
    endpoint: str | None = Field(
        None, description="'local' for the embedded local AWS, an http(s) URL for another emulator, omit for real AWS."
    )
    retry_mode: Literal["standard", "adaptive"] = "standard"
    max_attempts: int = Field(8, ge=1, le=20, description="botocore total attempts per call, retries included.")
    max_in_flight: int = Field(
        32, ge=1, le=256,
        description="AWS calls at once, all projects of a run together (each client keeps as many connections). "
                    "Lower it if the account's API rate limits throttle; 'adaptive' retry_mode also paces throttled calls.",
    )

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
    runtime: LambdaRuntime = "python3.12"
    memory_mb: int = Field(256, ge=128, le=10240)
    timeout_seconds: int = Field(60, ge=1, le=900)
    architecture: Literal["x86_64", "arm64"] = "x86_64"


class GlueJobSettings(StrictModel):
    """Settings of one Glue job (any field left out takes the project's default)."""

    worker_type: GlueWorkerType | None = None
    number_of_workers: int | None = Field(None, ge=2, le=299)
    timeout_minutes: int | None = Field(None, ge=1, le=2880)
    max_retries: int | None = Field(None, ge=0, le=10)
    max_concurrent_runs: int | None = Field(None, ge=1, le=100)

    _spark_etl_worker_type = field_validator("worker_type", mode="before")(_spark_etl_worker_type)


class GlueDefaults(StrictModel):
    glue_version: GlueVersion = "5.0"
    worker_type: GlueWorkerType = "G.1X"
    number_of_workers: int = Field(2, ge=2, le=299)
    timeout_minutes: int = Field(60, ge=1, le=2880)
    max_retries: int = Field(0, ge=0, le=10)
    max_concurrent_runs: int = Field(1, ge=1, le=100)
    job_bookmarks: Literal["job-bookmark-enable", "job-bookmark-disable", "job-bookmark-pause"] = "job-bookmark-disable"

    _spark_etl_worker_type = field_validator("worker_type", mode="before")(_spark_etl_worker_type)


class CrawlerSettings(StrictModel):
    schedule: str | None = Field(
        None, pattern=r"^cron\(.+\)$", description="Glue cron schedule, e.g. 'cron(0 6 * * ? *)'; omit to run on demand only."
    )
    update_behavior: Literal["UPDATE_IN_DATABASE", "LOG"] = "UPDATE_IN_DATABASE"
    delete_behavior: Literal["LOG", "DELETE_FROM_DATABASE", "DEPRECATE_IN_DATABASE"] = "LOG"
    table_prefix: str = Field("", max_length=64, pattern=r"^[a-z0-9_]*$")

    @field_validator("schedule")
    @classmethod
    def _glue_cron(cls, value: str | None) -> str | None:
        if value is not None and (problem := glue_cron_problem(value)):
            raise ValueError(problem)
        return value


class StateMachineSettings(StrictModel):
    log_level: Literal["ALL", "ERROR", "FATAL", "OFF"] = "ERROR"
    include_execution_data: bool = False
    tracing: bool = False


EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
HTTPS_URL = r"^https://[^\s/?#]+[^\s]*$"


def _email_address(value: str) -> str:
    if not re.fullmatch(EMAIL, value):
        raise ValueError(f"{value!r} is not an email address (name@domain)")
    return value


def _https_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or not re.fullmatch(HTTPS_URL, value):
        raise ValueError(f"{value!r} is not an https:// URL (failures are not sent in clear text)")
    return value


EmailAddress = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email", "pattern": EMAIL},
                                    examples=["data-eng-oncall@example.com"]), AfterValidator(_email_address)]
HttpsUrl = Annotated[str, Field(max_length=2048, json_schema_extra={"pattern": HTTPS_URL},
                                examples=["https://alerts.example.com/sns/fpac"]), AfterValidator(_https_url)]


class NotificationSettings(StrictModel):
    """Who is told when a run fails, times out or is aborted: the subscribers of the pipeline's failures topic.
    Email and HTTPS subscribers must confirm their subscription (SNS sends them a link) before they receive anything."""

    email: list[EmailAddress] = Field(default_factory=list, description="Email addresses subscribed to the failures topic.")
    https: list[HttpsUrl] = Field(default_factory=list, description="HTTPS endpoints subscribed to the failures topic "
                                                                      "(SNS posts each notification as JSON).")

    @field_validator("email", "https")
    @classmethod
    def _once_each(cls, values: list[str]) -> list[str]:
        seen: set[str] = set()
        for value in values:
            if value.lower() in seen:
                raise ValueError(f"{value!r} is listed twice")
            seen.add(value.lower())
        return values

    def subscriptions(self) -> tuple[tuple[str, str], ...]:
        """(protocol, endpoint) pairs, as the sns_topic kind takes them."""
        return (*(("email", e) for e in self.email), *(("https", u) for u in self.https))


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
    history_retention_days: int | None = Field(
        None, ge=1, le=36500,
        description="Keep every deployment-history object under S3 Object Lock (compliance mode) this many days: "
                    "nobody, the deployer included, can delete or change it before then. Omit to rely on the bucket "
                    "policy alone (history is append-only either way).")
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
        seen: dict[str, str] = {}
        for key in tags:
            if key.lower().startswith(("aws:", "deployer:")):
                raise ValueError(f"tag key '{key}' is reserved (aws: and deployer: prefixes)")
            # IAM role tag keys are unique regardless of case: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html
            if key.lower() in seen:
                raise ValueError(f"tag keys '{seen[key.lower()]}' and '{key}' differ only by case, which IAM roles do not allow")
            seen[key.lower()] = key
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


def _known_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """The keys (aliases where set) of the model found at ``loc`` inside ``model``; [] when there is none."""
    current: Any = model
    parts = list(loc)
    while parts:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(str(parts.pop(0)))
        if info is None:
            return []
        current, keyed = _inner_model(info.annotation)
        if keyed and parts:
            parts.pop(0)  # dict[str, Model]: the next part is an entry's key
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> tuple[Any, bool]:
    """(the type inside Optional[...] or dict[str, ...], whether it was a dict's values)."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is dict:
        return (args[-1] if args else None), True
    if origin in (typing.Union, types.UnionType):
        return _inner_model(args[0]) if args else (None, False)
    return annotation, False


def format_validation_error(source: str, error: ValidationError, field_prefix: tuple[str, ...] = (),
                            model: type[BaseModel] | None = None) -> str:
    """One line naming the file and the first failing field, plus a count of the others.

    Unknown keys come first (a typo must not hide behind the "required field is missing" it causes),
    with the likely intended key when one is close ("did you mean …?")."""
    errors = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc, message = first["loc"], first["msg"]
    if loc and loc[-1] == "[key]":  # a dict key (e.g. a tag key) failed: name the entry, say it is the key
        loc, message = loc[:-1], f"key: {message}"
    field = ".".join(str(p) for p in (*field_prefix, *loc)) or "(top level)"
    if first["type"] == "extra_forbidden":
        message = "unknown key (not part of the schema)"
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == loc[:-1]]
        close = difflib.get_close_matches(str(loc[-1]), missing + _known_keys(model, loc[:-1]), n=1, cutoff=0.6)
        if close:
            message += f"; did you mean '{close[0]}'?"
    elif first["type"] == "missing":
        message = "required field is missing"
    more = len(errors) - 1
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
        raise ConfigError(format_validation_error(str(path), exc, model=EnvironmentConfig)) from None


def check_region(config: EnvironmentConfig, region: str, source: str) -> None:
    """``--region`` must be one the config allows: never a silent override."""
    if region not in config.regions:
        raise ConfigError(f"{source}: regions: --region {region} is not allowed by this config (allowed: {', '.join(config.regions)})")


def project_settings(config: EnvironmentConfig, project: str, model: type[BaseModel], source: str) -> BaseModel:
    """Validate the config's section for ``project`` with the project's own model."""
    try:
        return model.model_validate(config.projects.get(project, {}))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc, ("projects", project), model=model)) from None
