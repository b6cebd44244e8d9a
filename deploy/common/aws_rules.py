"""``validate`` rejects what AWS would reject, before any AWS call.

For every spec, the requests its handler would send on create are built by the handler's own pure builders
(``create_kwargs`` & co) and checked against botocore's service model of each operation: lengths, patterns,
enums and ranges of every member sent (botocore's own ParamValidator checks only types, required members and
``min``). Limits AWS documents but the models don't carry are checked next to them, each citing its page: tags per
resource counting the five the deployer adds, tag characters, Lambda, Glue, Step Functions, IAM and S3 limits, and
two resources that would get the same name.

Pure: no AWS call, no network. Service models are read from botocore's data files, lazily, once per process.
Every problem is collected; ``check`` raises one ConfigError line naming the config file and, when the value comes
from one config field, that field (else the resource and the API field), plus how many more problems there are.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .config import (
    GLUE_ETL_WORKER_TYPES, GLUE_STREAMING_ONLY_WORKER_TYPES, REGION_PLACEHOLDER, RETENTION_DAYS, TAG_CHARACTERS, EnvironmentConfig,
    LambdaRuntime, bucket_name_problem, glue_cron_problem,
)
from .errors import ConfigError
from .kinds import KINDS
from .kinds.base import Request, Spec
from .kinds.glue_crawler import CrawlerSpec
from .kinds.glue_job import GlueJobSpec
from .kinds.iam_policy import ManagedPolicySpec
from .kinds.iam_role import RoleHandler, RoleSpec
from .kinds.lambda_function import FunctionSpec
from .kinds.log_group import LogGroupSpec
from .kinds.s3_bucket import BucketSpec
from .kinds.s3_object import ObjectSpec
from .kinds.state_machine import StateMachineSpec

DEPLOYER_TAG_PREFIX = "deployer:"

# ---- Documented limits the service models do not carry -----------------------------------------------------------

# Tags per resource, the deployer's five included: each kind declares its limit (``Kind.tag_limit``, with its source).
TAGS_PER_RESOURCE: dict[str, tuple[int, str]] = {name: kind.tag_limit for name, kind in KINDS.items()}
# Tag keys 1-128, values 0-256 characters, of letters, digits, spaces and _ . : / = + - @ on every service (the set
# that IAM, S3 and Step Functions allow); "aws:" is reserved. https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256

# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_NAME_MAX = 64  # the model's 140 is for a full ARN (API_CreateFunction.html)
LAMBDA_MEMORY_MB = (128, 10240)
LAMBDA_TIMEOUT_MAX = 900
LAMBDA_ENVIRONMENT_BYTES = 4096
LAMBDA_ZIP_BYTES = 50 * 1024 * 1024  # zipped, uploaded directly
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
LAMBDA_RESERVED_ENVIRONMENT = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
# https://docs.aws.amazon.com/glue/latest/dg/add-job.html: a Spark job runs on at least 2 workers.
GLUE_MIN_WORKERS = 2
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html: a name with logging
# to CloudWatch Logs holds only these; without logging, no whitespace, brackets, wildcards or " # % \ ^ | ~ ` $ & , ; : /.
STATE_MACHINE_LOGGED_NAME = r"[0-9A-Za-z_-]+"
STATE_MACHINE_NAME_FORBIDDEN = r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]"
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (characters, whitespace not counted)
IAM_INLINE_POLICIES_PER_ROLE_CHARS = 10240
IAM_TRUST_POLICY_CHARS = 2048
IAM_MANAGED_POLICY_CHARS = 6144
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
S3_KEY_BYTES = 1024
# Kinds whose names AWS compares regardless of case (``Kind.case_insensitive_names``).
CASE_INSENSITIVE_NAMES = frozenset(name for name, kind in KINDS.items() if kind.case_insensitive_names)


@dataclass(frozen=True)
class Violation:
    """A member of a request the service model would refuse."""

    path: str  # e.g. "Environment.Variables key '1BAD'", "Tags.owner"
    message: str
    value: Any


@dataclass(frozen=True)
class Problem:
    """One thing AWS would refuse; ``field`` is the config field it comes from, when there is exactly one."""

    text: str
    field: str | None = None

    def line(self, source: str) -> str:
        return f"{source}: {self.field}: {self.text}" if self.field else f"{source}: {self.text}"


# ---- The requests each kind's handler sends on create ------------------------------------------------------------

def create_requests(spec: Spec, region: str) -> list[Request]:
    """The requests the kind's handler sends to create ``spec`` (``Kind.requests``)."""
    return KINDS[spec.kind].requests(spec, region)


# ---- The model walker ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def service_model(service: str) -> Any:
    """botocore's model of ``service`` (read from its data files; no client, no credentials, no network)."""
    return _session().get_service_model(service)


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    import botocore.session  # imported here: importing this module stays cheap

    return botocore.session.get_session()


def java_regex(pattern: str) -> str:
    """A botocore (Java) pattern for the ``regex`` package: surrogate pairs become code points, and ``\\w``/``\\d``
    stay ASCII as in Java (``\\p{L}`` & co are understood by ``regex`` as they are)."""
    import re

    def pair(match: re.Match[str]) -> str:
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"

    pattern = re.sub(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", pair, pattern, flags=re.IGNORECASE)
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape = pattern[i:i + 2]
            ascii_class = {"\\w": "a-zA-Z0-9_", "\\d": "0-9"}.get(escape)
            if ascii_class:
                out.append(ascii_class if in_class else f"[{ascii_class}]")
            elif escape in ("\\W", "\\D") and not in_class:
                out.append("[^a-zA-Z0-9_]" if escape == "\\W" else "[^0-9]")
            else:
                out.append(escape)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            if pattern[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1:i + 2] == "]":  # a leading ] is literal
                out.append("\\]")
                i += 1
        elif char == "]" and in_class:
            in_class = False
            out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=None)
def compiled_pattern(pattern: str) -> Any:
    import regex

    return regex.compile(java_regex(pattern))


def _shape_pattern_matches(pattern: str, value: str) -> bool:
    # AWS matches a member's pattern against the whole value (Java's Pattern.matches).
    return compiled_pattern(pattern).fullmatch(value) is not None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def check_request(service: str, operation: str, params: dict[str, Any]) -> list[Violation]:
    """Every member of ``params`` that ``service``'s model of ``operation`` would refuse."""
    shape = service_model(service).operation_model(operation).input_shape
    return list(walk(shape, params, ""))


def walk(shape: Any, value: Any, path: str) -> Iterator[Violation]:
    """Check ``value`` against ``shape``: required members, enum, length (min/max), range (min/max), pattern."""
    kind = shape.type_name
    meta = shape.metadata
    low, high = meta.get("min"), meta.get("max")
    if kind == "structure":
        if not isinstance(value, dict):
            yield Violation(path, "should be a structure", value)
            return
        for name in shape.required_members:
            if value.get(name) is None:
                yield Violation(_join(path, name), "is required", None)
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                yield Violation(_join(path, name), "is not a parameter of this operation", None)
            elif item is not None:
                yield from walk(member, item, _join(path, name))
    elif kind in ("list", "map"):
        count = len(value)
        noun = "items" if kind == "list" else "entries"
        if low is not None and count < low:
            yield Violation(path, f"has {count} {noun}; AWS needs at least {low}", None)
        if high is not None and count > high:
            yield Violation(path, f"has {count} {noun}; AWS allows at most {high}", None)
        if kind == "list":
            for index, item in enumerate(value):
                yield from walk(shape.member, item, f"{path}[{index}]")
        else:
            for key, item in value.items():
                yield from walk(shape.key, key, f"{path} key {_show(key)}")
                yield from walk(shape.value, item, _join(path, str(key)))
    elif kind == "string":
        if not isinstance(value, str):
            yield Violation(path, "should be a string", value)
            return
        if low is not None and len(value) < low:
            yield Violation(path, f"{_show(value)} is {len(value)} characters long; AWS needs at least {low}", value)
        if high is not None and len(value) > high:
            yield Violation(path, f"{_show(value)} is {len(value)} characters long; AWS allows at most {high}", value)
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            shown = ", ".join(enum[:12]) + (", …" if len(enum) > 12 else "")
            yield Violation(path, f"{_show(value)} is not one of AWS's values ({shown})", value)
        pattern = meta.get("pattern")
        if pattern and not _shape_pattern_matches(pattern, value):
            yield Violation(path, f"{_show(value)} does not match AWS's pattern {pattern}", value)
    elif kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            yield Violation(path, "should be a number", value)
            return
        if low is not None and value < low:
            yield Violation(path, f"{value} is less than AWS's minimum {low}", value)
        if high is not None and value > high:
            yield Violation(path, f"{value} is more than AWS's maximum {high}", value)
    elif kind == "blob":
        size = len(value)
        if low is not None and size < low:
            yield Violation(path, f"is {size} bytes; AWS needs at least {low}", None)
        if high is not None and size > high:
            yield Violation(path, f"is {size} bytes; AWS allows at most {high}", None)


# ---- Tracing a value back to the config field it came from --------------------------------------------------------

class Origins:
    """The config's leaves (values and dict keys, as written in the file): which field a value comes from."""

    def __init__(self, config: EnvironmentConfig, region: str):
        self.region = region
        document = config.model_dump(mode="json", by_alias=True, exclude_unset=True)
        document.pop("$schema", None)
        self.leaves = list(self._leaves(document, ()))
        # Each leaf under the value it matches (its own, and with {region} filled in): a look-up per value, not a
        # scan of the config, which grows with its projects (50 projects: 10 million comparisons in validate).
        self._by_value: dict[tuple[type, Any], set[str]] = {}
        for path, leaf in self.leaves:
            matched = [leaf]
            if isinstance(leaf, str) and REGION_PLACEHOLDER in leaf:
                matched.append(leaf.replace(REGION_PLACEHOLDER, region))
            for value in matched:
                self._by_value.setdefault((type(value), value), set()).add(path)

    _last: tuple[EnvironmentConfig, str, "Origins"] | None = None

    @classmethod
    def of(cls, config: EnvironmentConfig, region: str) -> "Origins":
        """The origins of ``config`` (the same object as last time: built once for every project of a run)."""
        last = cls._last
        if last is not None and last[0] is config and last[1] == region:
            return last[2]
        origins = cls(config, region)
        cls._last = (config, region, origins)
        return origins

    def _leaves(self, node: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        if isinstance(node, dict):
            for key, item in node.items():
                yield ".".join((*path, str(key))), str(key)
                yield from self._leaves(item, (*path, str(key)))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                yield from self._leaves(item, (*path, str(index)))
        elif node is not None and not isinstance(node, bool):
            yield ".".join(path), node

    def fields_for(self, value: Any) -> list[str]:
        """The fields whose value is ``value`` (the same type; a ``{region}`` template filled in for the region)."""
        if value is None or isinstance(value, bool) or (isinstance(value, str) and not value):
            return []
        try:
            return sorted(self._by_value.get((type(value), value), ()))
        except TypeError:  # unhashable (a list, a dict): no leaf is one
            return []

    def field_for(self, value: Any) -> str | None:
        """The one config field holding ``value``; None when none or several do."""
        fields = self.fields_for(value)
        return fields[0] if len(fields) == 1 else None


# ---- The rules ----------------------------------------------------------------------------------------------------

def _resource(spec: Spec) -> str:
    return f"{spec.kind} {spec.name}"


def _model_problems(spec: Spec, region: str, origins: Origins) -> Iterator[Problem]:
    for request in create_requests(spec, region):
        for violation in check_request(request.service, request.operation, request.params):
            yield Problem(f"{_resource(spec)}: {request.operation} {violation.path}: {violation.message}",
                          origins.field_for(violation.value))


def _tag_problems(spec: Spec, config: EnvironmentConfig, origins: Origins) -> Iterator[Problem]:
    import regex

    limit, what = TAGS_PER_RESOURCE.get(spec.kind, (50, "AWS resources"))
    if len(spec.tags) > limit:
        from_config = sum(1 for key in spec.tags if key in config.tags)
        added = len(spec.tags) - from_config
        yield Problem(f"{_resource(spec)} would carry {len(spec.tags)} tags ({from_config} from config + {added} the deployer "
                      f"adds); {what} take at most {limit}", "tags" if from_config else None)
    allowed = regex.compile(rf"[{TAG_CHARACTERS}]*")
    for key, value in spec.tags.items():
        field = origins.field_for(key) if key in config.tags else None
        if not 1 <= len(key) <= TAG_KEY_MAX:
            yield Problem(f"{_resource(spec)}: tag key {_show(key)} must be 1 to {TAG_KEY_MAX} characters long", field)
        elif not allowed.fullmatch(key):
            yield Problem(f"{_resource(spec)}: tag key {_show(key)} may hold only letters, digits, spaces and _ . : / = + - @", field)
        elif key.lower().startswith("aws:"):
            yield Problem(f"{_resource(spec)}: tag key {_show(key)} uses the prefix aws:, which AWS reserves", field)
        value_field = origins.field_for(value) if key in config.tags else None
        if len(value) > TAG_VALUE_MAX:
            yield Problem(f"{_resource(spec)}: tag {key} value is {len(value)} characters long; AWS allows at most {TAG_VALUE_MAX}",
                          value_field)
        elif not allowed.fullmatch(value):
            yield Problem(f"{_resource(spec)}: tag {key} value {_show(value)} may hold only letters, digits, spaces and "
                          "_ . : / = + - @", value_field)


def _bucket_problem(spec: Spec, bucket: str, origins: Origins) -> Iterator[Problem]:
    problem = bucket_name_problem(bucket)
    if problem:
        yield Problem(f"{_resource(spec)}: S3 bucket name {_show(bucket)} {problem}", origins.field_for(bucket))


def _kind_problems(spec: Spec, origins: Origins) -> Iterator[Problem]:
    """Documented limits of one kind that the service models do not carry."""
    at = _resource(spec)
    field = origins.field_for
    limits = KINDS[spec.kind].limits
    for text, value in limits(spec) if limits else ():  # a kind's own (``Kind.limits``)
        yield Problem(f"{at}: {text}", field(value))
    if isinstance(spec, BucketSpec):
        yield from _bucket_problem(spec, spec.name, origins)
    elif isinstance(spec, ObjectSpec):
        yield from _bucket_problem(spec, spec.bucket, origins)
        if len(spec.object_key.encode()) > S3_KEY_BYTES:
            yield Problem(f"{at}: object key is {len(spec.object_key.encode())} bytes; S3 allows at most {S3_KEY_BYTES}")
    elif isinstance(spec, FunctionSpec):
        if len(spec.name) > LAMBDA_NAME_MAX:
            yield Problem(f"{at}: FunctionName is {len(spec.name)} characters long; Lambda allows at most {LAMBDA_NAME_MAX}")
        if spec.runtime not in LambdaRuntime.__args__:
            yield Problem(f"{at}: Runtime {spec.runtime} is not one Lambda accepts for new functions "
                          f"({', '.join(LambdaRuntime.__args__)})", field(spec.runtime))
        if not LAMBDA_MEMORY_MB[0] <= spec.memory_mb <= LAMBDA_MEMORY_MB[1]:
            yield Problem(f"{at}: MemorySize {spec.memory_mb} is outside Lambda's {LAMBDA_MEMORY_MB[0]}-{LAMBDA_MEMORY_MB[1]} MB",
                          field(spec.memory_mb))
        if spec.timeout_seconds > LAMBDA_TIMEOUT_MAX:
            yield Problem(f"{at}: Timeout {spec.timeout_seconds} is more than Lambda's {LAMBDA_TIMEOUT_MAX} seconds",
                          field(spec.timeout_seconds))
        for key in spec.environment:
            if key in LAMBDA_RESERVED_ENVIRONMENT:
                yield Problem(f"{at}: environment variable {key} is reserved by Lambda", field(key))
        size = len(json.dumps(spec.environment, separators=(",", ":")).encode())
        if size > LAMBDA_ENVIRONMENT_BYTES:
            largest = max(spec.environment.values(), key=len)
            yield Problem(f"{at}: environment variables take {size} bytes; Lambda allows at most {LAMBDA_ENVIRONMENT_BYTES}",
                          field(largest) if len(largest.encode()) > LAMBDA_ENVIRONMENT_BYTES // 2 else None)
        if len(spec.zip_bytes) > LAMBDA_ZIP_BYTES:
            yield Problem(f"{at}: the code zip is {len(spec.zip_bytes)} bytes; Lambda takes at most {LAMBDA_ZIP_BYTES} uploaded directly")
    elif isinstance(spec, GlueJobSpec):
        if spec.glue_version not in GLUE_ETL_WORKER_TYPES:
            yield Problem(f"{at}: GlueVersion {spec.glue_version} is not one this deployer knows Glue accepts "
                          f"({', '.join(GLUE_ETL_WORKER_TYPES)})", field(spec.glue_version))
        elif spec.worker_type in GLUE_STREAMING_ONLY_WORKER_TYPES:
            yield Problem(f"{at}: WorkerType {spec.worker_type} is for Glue streaming jobs only; a Spark ETL (glueetl) job "
                          f"takes {', '.join(GLUE_ETL_WORKER_TYPES[spec.glue_version])}", field(spec.worker_type))
        elif spec.worker_type not in GLUE_ETL_WORKER_TYPES[spec.glue_version]:
            yield Problem(f"{at}: WorkerType {spec.worker_type} is not available to Spark ETL jobs on Glue {spec.glue_version} "
                          f"({', '.join(GLUE_ETL_WORKER_TYPES[spec.glue_version])})", field(spec.worker_type))
        if spec.number_of_workers < GLUE_MIN_WORKERS:
            yield Problem(f"{at}: NumberOfWorkers {spec.number_of_workers} is less than the {GLUE_MIN_WORKERS} a Spark job needs",
                          field(spec.number_of_workers))
    elif isinstance(spec, CrawlerSpec):
        problem = spec.schedule and glue_cron_problem(spec.schedule)
        if problem:
            yield Problem(f"{at}: Schedule {_show(spec.schedule)} {problem}", field(spec.schedule))
    elif isinstance(spec, LogGroupSpec):
        if spec.retention_days not in RETENTION_DAYS:
            yield Problem(f"{at}: retentionInDays {spec.retention_days} is not one of CloudWatch's values "
                          f"({', '.join(map(str, RETENTION_DAYS))})", field(spec.retention_days))
    elif isinstance(spec, StateMachineSpec):
        import re

        if spec.log_level != "OFF" and not re.fullmatch(STATE_MACHINE_LOGGED_NAME, spec.name):
            yield Problem(f"{at}: a state machine that logs to CloudWatch Logs may be named only with A-Z a-z 0-9 - _")
        elif re.search(STATE_MACHINE_NAME_FORBIDDEN, spec.name):
            yield Problem(f"{at}: a state machine name must not hold whitespace, brackets, wildcards or \" # % \\ ^ | ~ ` $ & , ; : /")
    elif isinstance(spec, RoleSpec):
        inline = sum(len("".join(json.dumps(doc).split())) for doc in spec.policies.values())
        if inline > IAM_INLINE_POLICIES_PER_ROLE_CHARS:
            yield Problem(f"{at}: inline policies hold {inline} characters; IAM allows {IAM_INLINE_POLICIES_PER_ROLE_CHARS} per role")
        trust = len("".join(RoleHandler.create_kwargs(spec)["AssumeRolePolicyDocument"].split()))
        if trust > IAM_TRUST_POLICY_CHARS:
            yield Problem(f"{at}: the trust policy holds {trust} characters; IAM allows {IAM_TRUST_POLICY_CHARS}")
    elif isinstance(spec, ManagedPolicySpec):
        size = len("".join(json.dumps(spec.document).split()))
        if size > IAM_MANAGED_POLICY_CHARS:
            yield Problem(f"{at}: the policy holds {size} characters; IAM allows {IAM_MANAGED_POLICY_CHARS} per managed policy")


def name_problems(specs: Iterable[Spec], origins: Origins) -> list[Problem]:
    """Two resources that would get the same name: the same bucket named by two config fields, or two IAM roles
    (or Glue databases) whose names differ only by case. Exact duplicates not traceable to the config are left to
    ``check_specs`` (a project's own mistake)."""
    problems: list[Problem] = []
    groups: dict[tuple[str, str], list[Spec]] = {}
    for spec in specs:
        name = spec.name.lower() if spec.kind in CASE_INSENSITIVE_NAMES else spec.name
        groups.setdefault((spec.kind, name), []).append(spec)
    for (kind, _), group in groups.items():
        if len(group) < 2:
            continue
        names = sorted({s.name for s in group})
        fields = origins.fields_for(group[0].name)
        if len(fields) >= 2:
            problems.append(Problem(f"{kind} {group[0].name} is also named by {', '.join(fields[:-1])}; "
                                    f"two resources would get the same name", fields[-1]))
        elif len(names) > 1:
            problems.append(Problem(f"{kind} {' and '.join(names)}: AWS compares these names regardless of case; "
                                    f"two resources would get the same name"))
    return problems


def problems(specs: list[Spec], config: EnvironmentConfig, region: str) -> list[Problem]:
    """Everything AWS would refuse in creating ``specs``, in spec order, without duplicates."""
    origins = Origins.of(config, region)
    found: list[Problem] = name_problems(specs, origins)
    for spec in specs:
        found.extend(_kind_problems(spec, origins))
        found.extend(_tag_problems(spec, config, origins))
        found.extend(_model_problems(spec, region, origins))
    return list(dict.fromkeys(found))


def raise_first(found: list[Problem], source: str) -> None:
    if found:
        more = len(found) - 1
        suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(found[0].line(source) + suffix)


def check_names(specs: list[Spec], config: EnvironmentConfig, region: str, source: str) -> None:
    """Raise ConfigError when two resources would get the same name (run before ``check_specs``, whose
    "defined twice" names no config field)."""
    raise_first(name_problems(specs, Origins.of(config, region)), source)


def check(specs: list[Spec], config: EnvironmentConfig, region: str, source: str) -> None:
    """Raise one ConfigError line for the first thing AWS would refuse, counting the others. No AWS call."""
    raise_first(problems(specs, config, region), source)
