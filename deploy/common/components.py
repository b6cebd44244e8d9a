"""What every pipeline repeats, as components a project composes: ``Pipeline(ctx)`` adds each part's
resources (a Lambda with its log group and role; a Glue job with its scripts and role; a catalog and
a crawler; the workflow with its role and log group; an S3 → EventBridge trigger; failure notifications
by SNS) and returns a small handle the next parts refer to. Every role is scoped to what its part
touches and carries the environment's permissions boundary; names follow ``{project}-{env}-{component}``.

    p = Pipeline(ctx)
    data = p.data_bucket(settings.data_bucket)
    check = p.lambda_function("check", source=HERE / "lambda" / "check", settings=..., defaults=...,
                              access=[*data.access(reads=("incoming/",))])
    ...
    flow = p.workflow("workflow", definition=build(check, ...), calls=[check, ...], settings=settings.state_machine)
    p.s3_trigger("incoming", bucket=data, prefix="incoming/", workflow=flow)
    p.failure_notifications("failures", workflow=flow, settings=settings.notifications)
    return p.specs

Pure: building specs makes no AWS call (see ``docs/adding-a-pipeline.md``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import (
    CrawlerSettings, GlueDefaults, GlueJobSettings, LambdaDefaults, LambdaSettings, NotificationSettings, StateMachineSettings,
)
from .context import ProjectContext
from .iam_policies import policy, statement
from .kinds.base import Spec, resource_key
from .kinds.event_rule import EventRuleSpec
from .kinds.glue_crawler import CrawlerSpec
from .kinds.glue_database import GlueDatabaseSpec
from .kinds.glue_job import GlueJobSpec
from .kinds.iam_role import RoleSpec
from .kinds.lambda_function import FunctionSpec
from .kinds.log_group import LogGroupSpec
from .kinds.s3_bucket import BucketSpec
from .kinds.s3_object import ObjectSpec
from .kinds.sns_topic import TopicSpec, topic_arn
from .kinds.state_machine import StateMachineSpec
from .naming import Arns
from .packaging import deterministic_zip, lambda_code_sha256, source_files

LAMBDA_TASK_MARGIN_SECONDS = 30  # a Lambda task waits this long past its function's timeout (invoke round trip, cold start)
GLUE_TASK_MARGIN_SECONDS = 300  # a Glue task waits past its job's timeout, so Glue's own TIMEOUT (with its message) comes first
FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")  # the execution statuses a failure notification is sent for


# ---- handles: what the next parts need to know of a part ---------------------------------------------

@dataclass(frozen=True)
class Bucket:
    name: str
    key: str
    arns: Arns

    def access(self, reads: Sequence[str] = (), writes: Sequence[str] = (), creates: Sequence[str] = ()) -> list[dict]:
        """Statements for exactly these key prefixes: ``reads`` GetObject; ``writes`` may be overwritten (Get, Put,
        Delete: Spark's overwrite deletes the old partition); ``creates`` only PutObject. Listing is limited to
        the prefixes read or rewritten."""
        arns, out = self.arns, []
        if reads:
            out.append(statement("ReadInputs", ["s3:GetObject"], [arns.objects(self.name, p) for p in reads]))
        if writes:
            out.append(statement("WriteOutputs", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                                 [arns.objects(self.name, p) for p in writes]))
        if creates:
            out.append(statement("CreateOutputs", ["s3:PutObject"], [arns.objects(self.name, p) for p in creates]))
        if reads or writes:
            out.append(statement("ListOwnPrefixes", ["s3:ListBucket"], [arns.bucket(self.name)],
                                 {"StringLike": {"s3:prefix": sorted(f"{p}*" for p in (*reads, *writes))}}))
        return out


@dataclass(frozen=True)
class Function:
    name: str
    key: str
    arn: str
    alias_arn: str  # what a workflow invokes: the alias moves only when a new version is published
    timeout_seconds: int

    @property
    def task_timeout_seconds(self) -> int:
        return self.timeout_seconds + LAMBDA_TASK_MARGIN_SECONDS


@dataclass(frozen=True)
class Job:
    name: str
    key: str
    arn: str
    timeout_minutes: int

    @property
    def task_timeout_seconds(self) -> int:
        return self.timeout_minutes * 60 + GLUE_TASK_MARGIN_SECONDS


@dataclass(frozen=True)
class Database:
    name: str
    key: str


@dataclass(frozen=True)
class Crawler:
    name: str
    key: str
    arn: str


@dataclass(frozen=True)
class Workflow:
    name: str
    key: str
    arn: str


Callable_ = Function | Job | Crawler


@dataclass
class Pipeline:
    """Collects a pipeline's specs as its components are added (``specs``)."""

    ctx: ProjectContext
    specs: list[Spec] = field(default_factory=list)

    @property
    def arns(self) -> Arns:
        return self.ctx.arns

    def _role(self, component: str, service: str, statements: Iterable[dict], description: str) -> RoleSpec:
        ctx = self.ctx
        role = RoleSpec(name=ctx.role_name(component), component=component, tags=ctx.tags(component), trust_service=service,
                        permissions_boundary=ctx.permissions_boundary_arn, depends_on=ctx.boundary_dependency,
                        description=description, policies={"least-privilege": policy(*statements)})
        self.specs.append(role)
        return role

    def _log_group(self, name: str, component: str) -> LogGroupSpec:
        group = LogGroupSpec(name=name, component=component, tags=self.ctx.tags(component),
                             retention_days=self.ctx.config.log_retention_days)
        self.specs.append(group)
        return group

    # ---- storage ----------------------------------------------------------------------------------------
    def data_bucket(self, name_template: str, component: str = "data", events: bool = True) -> Bucket:
        """The pipeline's own bucket (retained: never deleted); ``events`` sends its object events to EventBridge."""
        name = self.ctx.bucket(name_template)
        spec = BucketSpec(name=name, component=component, tags=self.ctx.tags(component), eventbridge_notifications=events,
                          tls_only=self.ctx.config.tls_endpoint)
        self.specs.append(spec)
        return Bucket(name, spec.key, self.arns)

    # ---- compute ----------------------------------------------------------------------------------------
    def lambda_function(self, component: str, *, source: Path, settings: LambdaSettings | None, defaults: LambdaDefaults,
                        access: Iterable[dict] = (), environment: dict[str, str] | None = None, shared: Path | None = None,
                        handler: str = "handler.handler", description: str = "") -> Function:
        """A function from ``source`` (plus ``shared``, zipped beside it), its log group, and a role that may write
        its logs and do what ``access`` grants. ``settings`` override ``defaults`` (memory, timeout, concurrency)."""
        ctx, arns = self.ctx, self.arns
        settings = settings or LambdaSettings()
        component = component.lower()
        name = ctx.name(component)
        log_group = self._log_group(f"/aws/lambda/{name}", component)
        role = self._role(component, "lambda.amazonaws.com",
                          [statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [arns.log_streams(log_group.name)]),
                           *access], f"Lambda {name}: its log group and what it reads and writes")
        zip_bytes = deterministic_zip(source, *([shared] if shared else []))
        timeout = settings.timeout_seconds or defaults.timeout_seconds
        spec = FunctionSpec(
            name=name, component=component, tags=ctx.tags(component), depends_on=(role.key, log_group.key),
            role_arn=arns.role(role.name), runtime=defaults.runtime, handler=handler,
            memory_mb=settings.memory_mb or defaults.memory_mb, timeout_seconds=timeout, architecture=defaults.architecture,
            reserved_concurrency=settings.reserved_concurrency, environment={**(environment or {}), **settings.environment},
            description=description or f"{ctx.project} {component} ({ctx.environment})", zip_bytes=zip_bytes,
            code_sha256=lambda_code_sha256(zip_bytes))
        self.specs.append(spec)
        return Function(name, spec.key, arns.function(name), arns.function(name, spec.alias), timeout)

    def glue_job(self, component: str, *, entry: Path, libraries: Sequence[Path] = (), settings: GlueJobSettings | None,
                 defaults: GlueDefaults, access: Iterable[dict] = (), arguments: dict[str, str] | None = None,
                 description: str = "") -> Job:
        """A PySpark job: its scripts uploaded to the artifact bucket (compared by content hash), a role that may read
        them, write Glue's log groups and do what ``access`` grants; ``arguments`` join the job's DefaultArguments."""
        ctx, arns = self.ctx, self.arns
        settings = settings or GlueJobSettings()
        name = ctx.name(component)
        bucket = ctx.artifact_bucket
        folder = f"{ctx.project}/{ctx.environment}/glue/{component}/"
        objects = [ObjectSpec(name=f"{bucket}/{folder}{path.name}", component=component, tags=ctx.tags(component), bucket=bucket,
                              object_key=f"{folder}{path.name}", body=path.read_bytes(),
                              depends_on=(resource_key(BucketSpec.kind, bucket),)) for path in (entry, *libraries)]
        self.specs.extend(objects)
        role = self._role(component, "glue.amazonaws.com", [
            statement("Scripts", ["s3:GetObject"], [arns.objects(bucket, folder)]), *access,
            statement("GlueLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                      [arns.log_group("/aws-glue/jobs/*"), arns.log_streams("/aws-glue/jobs/*")]),
        ], f"Glue job {name}: its scripts, what it reads and writes, Glue's log groups")
        timeout = settings.timeout_minutes or defaults.timeout_minutes
        spec = GlueJobSpec(
            name=name, component=component, tags=ctx.tags(component), depends_on=(role.key, *(o.key for o in objects)),
            role_arn=arns.role(role.name), script_location=f"s3://{objects[0].name}", glue_version=defaults.glue_version,
            worker_type=settings.worker_type or defaults.worker_type,
            number_of_workers=settings.number_of_workers or defaults.number_of_workers, timeout_minutes=timeout,
            max_retries=defaults.max_retries if settings.max_retries is None else settings.max_retries,
            max_concurrent_runs=settings.max_concurrent_runs or defaults.max_concurrent_runs,
            default_arguments={
                **({"--extra-py-files": ",".join(f"s3://{o.name}" for o in objects[1:])} if len(objects) > 1 else {}),
                "--job-bookmark-option": defaults.job_bookmarks, "--enable-continuous-cloudwatch-log": "true",
                "--enable-metrics": "true", **(arguments or {}),
            },
            description=description or f"{ctx.project} {component} stage ({ctx.environment})")
        self.specs.append(spec)
        return Job(name, spec.key, arns.glue_job(name), timeout)

    @staticmethod
    def glue_sources(folder: Path, entry: str, shared: Path | None = None) -> tuple[Path, list[Path]]:
        """A job's entry script and the modules it imports: its folder's other .py files and ``shared``'s."""
        script = folder / entry
        if not script.is_file():
            raise FileNotFoundError(f"Glue entry script not found: {script}")
        libraries = [p for p in source_files(folder) if p.suffix == ".py" and p != script]
        if shared is not None and shared.is_dir():
            libraries += [p for p in source_files(shared) if p.suffix == ".py"]
        return script, libraries

    # ---- catalog ----------------------------------------------------------------------------------------
    def catalog(self, component: str = "catalog", description: str = "") -> Database:
        """The Glue database the crawlers write tables into (retained: never deleted)."""
        name = self.ctx.name(component).replace("-", "_")
        spec = GlueDatabaseSpec(name=name, component=component, tags=self.ctx.tags(component),
                                description=description or f"{self.ctx.project} curated outputs")
        self.specs.append(spec)
        return Database(name, spec.key)

    def crawler(self, component: str, *, database: Database, bucket: Bucket, prefix: str, settings: CrawlerSettings,
                description: str = "") -> Crawler:
        """A crawler over ``s3://bucket/prefix`` into ``database``, with a role that may read it and write the catalog."""
        ctx, arns = self.ctx, self.arns
        name = ctx.name(component)
        role = self._role(component, "glue.amazonaws.com", [
            *bucket.access(reads=(prefix,)),
            statement("Catalog", ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable",
                                  "glue:GetPartition", "glue:GetPartitions", "glue:BatchCreatePartition", "glue:BatchGetPartition",
                                  "glue:UpdatePartition"],
                      [arns.glue_catalog(), arns.glue_database(database.name), arns.glue_tables(database.name)]),
            statement("CrawlerLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                      [arns.log_group("/aws-glue/crawlers"), arns.log_streams("/aws-glue/crawlers")]),
        ], f"Crawler {name}: reads {prefix}, writes tables of {database.name}")
        spec = CrawlerSpec(
            name=name, component=component, tags=ctx.tags(component), depends_on=(role.key, database.key),
            role_arn=arns.role(role.name), database=database.name, s3_targets=(f"s3://{bucket.name}/{prefix}",),
            exclusions=("**/_SUCCESS", "**.crc"), schedule=settings.schedule, update_behavior=settings.update_behavior,
            delete_behavior=settings.delete_behavior, table_prefix=settings.table_prefix,
            description=description or f"Registers the tables under {prefix}")
        self.specs.append(spec)
        return Crawler(name, spec.key, arns.crawler(name))

    # ---- orchestration ----------------------------------------------------------------------------------
    def workflow(self, component: str, *, definition: dict[str, Any], calls: Sequence[Callable_],
                 settings: StateMachineSettings) -> Workflow:
        """The state machine, its log group, and a role that may invoke, run or start exactly ``calls``."""
        ctx, arns = self.ctx, self.arns
        name = ctx.name(component)
        log_group = self._log_group(f"/aws/vendedlogs/states/{name}", component)
        functions = [c for c in calls if isinstance(c, Function)]
        jobs = [c for c in calls if isinstance(c, Job)]
        crawlers = [c for c in calls if isinstance(c, Crawler)]
        statements = []
        if functions:
            statements.append(statement("InvokePipelineFunctions", ["lambda:InvokeFunction"], [f.alias_arn for f in functions]))
        if jobs:
            statements.append(statement("RunPipelineJobs", ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns",
                                                            "glue:BatchStopJobRun"], [j.arn for j in jobs]))
        if crawlers:
            statements.append(statement("StartCrawler", ["glue:StartCrawler"], [c.arn for c in crawlers]))
        if settings.log_level != "OFF":  # CloudWatch Logs delivery for Step Functions only accepts Resource "*" (AWS docs)
            statements.append(statement("LogDelivery", [
                "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"], "*"))
        if settings.tracing:
            statements.append(statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                                    "xray:GetSamplingRules", "xray:GetSamplingTargets"], "*"))
        role = self._role(component, "states.amazonaws.com", statements,
                          f"State machine {name}: the {len(calls)} functions, jobs and crawlers it calls")
        spec = StateMachineSpec(
            name=name, component=component, tags=ctx.tags(component), arn=arns.state_machine(name),
            depends_on=(role.key, log_group.key, *(c.key for c in calls)), role_arn=arns.role(role.name),
            definition=definition, log_group_arn=arns.log_group(log_group.name), log_level=settings.log_level,
            include_execution_data=settings.include_execution_data, tracing=settings.tracing)
        self.specs.append(spec)
        return Workflow(name, spec.key, spec.arn)

    def s3_trigger(self, component: str, *, bucket: Bucket, prefix: str, workflow: Workflow) -> None:
        """Start ``workflow`` for each object created under ``s3://bucket/prefix`` (S3 → EventBridge → Step Functions)."""
        ctx, arns = self.ctx, self.arns
        name = ctx.name(component)
        role = self._role(component, "events.amazonaws.com",
                          [statement("StartWorkflow", ["states:StartExecution"], [workflow.arn])],
                          f"EventBridge rule {name}: start {workflow.name}")
        self.specs.append(EventRuleSpec(
            name=name, component=component, tags=ctx.tags(component), depends_on=(workflow.key, role.key, bucket.key),
            event_pattern={"source": ["aws.s3"], "detail-type": ["Object Created"],
                           "detail": {"bucket": {"name": [bucket.name]}, "object": {"key": [{"prefix": prefix}]}}},
            target_arn=workflow.arn, target_role_arn=arns.role(role.name),
            description=f"Start {workflow.name} when a file lands in s3://{bucket.name}/{prefix}"))

    def failure_notifications(self, component: str, *, workflow: Workflow, settings: NotificationSettings) -> None:
        """An SNS topic whose subscribers are told of every run of ``workflow`` that fails, times out or is aborted
        (Step Functions → EventBridge rule → SNS). The rule takes no role: the topic's policy lets it, and only it,
        publish (``aws:SourceArn``)."""
        ctx, arns = self.ctx, self.arns
        name = ctx.name(component)
        topic = TopicSpec(name=name, component=component, tags=ctx.tags(component), subscriptions=settings.subscriptions(),
                          publishers=(("events.amazonaws.com", arns.event_rule(name)),))
        self.specs.append(topic)
        self.specs.append(EventRuleSpec(
            name=name, component=component, tags=ctx.tags(component), depends_on=(topic.key,),
            event_pattern={"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                           "detail": {"status": list(FAILED_STATUSES), "stateMachineArn": [workflow.arn]}},
            target_arn=topic_arn(arns, name),
            description=f"Tell the subscribers of {name} when a run of {workflow.name} fails, times out or is aborted"))
