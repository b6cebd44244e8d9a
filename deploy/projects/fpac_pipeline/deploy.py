"""The fpac pipeline's desired state: its settings model and ``build_specs``. Pure: no AWS calls.

Resources (names for env 'dev'):
  s3 bucket       fpac-dev data bucket from config (incoming/ -> landing/ -> clean/ + quarantine/ -> final/, results/)
  lambda          fpac-dev-validate, fpac-dev-createnewid, fpac-dev-logresults (alias 'live')
  glue job        fpac-dev-landing, fpac-dev-cleaning, fpac-dev-final (scripts in the artifact bucket)
  glue crawler    fpac-dev-final-crawler over final/ into database fpac_dev
  state machine   fpac-dev-workflow, started by event rule fpac-dev-incoming on S3 'Object Created'
  iam role        one per component, each scoped to the ARNs it uses, all under the environment's permissions boundary
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from deploy.common.config import (
    BucketName, CrawlerSettings, GlueDefaults, GlueJobSettings, LambdaDefaults, LambdaSettings, StateMachineSettings, StrictModel,
)
from deploy.common.context import ProjectContext, RunTarget
from deploy.common.iam_policies import policy, statement
from deploy.common.naming import Arns
from deploy.common.kinds.base import Spec, resource_key
from deploy.common.kinds.event_rule import EventRuleSpec
from deploy.common.kinds.glue_crawler import CrawlerSpec
from deploy.common.kinds.glue_database import GlueDatabaseSpec
from deploy.common.kinds.glue_job import GlueJobSpec
from deploy.common.kinds.iam_role import RoleSpec
from deploy.common.kinds.lambda_function import FunctionSpec
from deploy.common.kinds.log_group import LogGroupSpec
from deploy.common.kinds.s3_bucket import BucketSpec
from deploy.common.kinds.s3_object import ObjectSpec
from deploy.common.kinds.state_machine import StateMachineSpec
from deploy.common.packaging import deterministic_zip, lambda_code_sha256, source_files

from . import fpac_stepfunctions

HERE = Path(__file__).resolve().parent
FunctionName = Literal["Validate", "CreateNewId", "LogResults"]
JobName = Literal["landing", "cleaning", "final"]
FUNCTIONS: tuple[FunctionName, ...] = ("Validate", "CreateNewId", "LogResults")
JOBS: tuple[JobName, ...] = ("landing", "cleaning", "final")

# The data bucket's zones. Each component's role reaches only the prefixes it reads or writes.
INCOMING, LANDING, CLEAN, QUARANTINE, FINAL, RESULTS, METRICS = (
    "incoming/", "landing/", "clean/", "quarantine/", "final/", "results/", "metrics/")
JOB_IO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # job -> (reads, writes)
    "landing": ((INCOMING,), (LANDING, METRICS)),
    "cleaning": ((LANDING,), (CLEAN, QUARANTINE, METRICS)),
    "final": ((CLEAN,), (FINAL, METRICS)),
}
FUNCTION_IO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # function -> (reads, creates)
    "Validate": ((INCOMING,), ()),
    "CreateNewId": ((), ()),
    "LogResults": ((METRICS,), (RESULTS,)),
}


class Settings(StrictModel):
    """``projects.fpac`` in an environment config."""

    data_bucket: BucketName = Field(..., description="The pipeline's data bucket (incoming, landing, clean, quarantine, final, results). "
                                                     "{region} is replaced by the region; required when several regions are allowed.")
    max_file_mb: int = Field(50, ge=1, le=5120, description="Validate rejects incoming files larger than this.")
    max_reject_ratio: float = Field(
        0.5, ge=0, le=1, description="The cleaning job fails the run when more than this share of rows is quarantined.")
    lambda_defaults: LambdaDefaults = Field(default_factory=LambdaDefaults)
    functions: dict[FunctionName, LambdaSettings] = Field(default_factory=dict)
    glue_defaults: GlueDefaults = Field(default_factory=GlueDefaults)
    jobs: dict[JobName, GlueJobSettings] = Field(default_factory=dict)
    crawler: CrawlerSettings = Field(default_factory=CrawlerSettings)
    state_machine: StateMachineSettings = Field(default_factory=StateMachineSettings)


def build_specs(ctx: ProjectContext) -> list[Spec]:
    s: Settings = ctx.settings
    arns = ctx.arns
    specs: list[Spec] = []
    add = specs.append
    data_bucket = ctx.bucket(s.data_bucket)  # bucket names are global: rendered for this region

    data = BucketSpec(name=data_bucket, component="data", tags=ctx.tags("data"), eventbridge_notifications=True,
                      tls_only=ctx.config.tls_endpoint)
    add(data)

    # ---- Lambda functions ------------------------------------------------------------------
    fn_names = {f: ctx.name(f.lower()) for f in FUNCTIONS}
    fn_timeouts: dict[str, int] = {}  # each function's own timeout: its workflow task's TimeoutSeconds follows it
    for fn in FUNCTIONS:
        name, comp = fn_names[fn], fn.lower()
        overrides = s.functions.get(fn, LambdaSettings())
        log_group = LogGroupSpec(name=f"/aws/lambda/{name}", component=comp, tags=ctx.tags(comp),
                                 retention_days=ctx.config.log_retention_days)
        reads, creates = FUNCTION_IO[fn]
        role = RoleSpec(
            name=ctx.role_name(comp), component=comp, tags=ctx.tags(comp), trust_service="lambda.amazonaws.com",
            permissions_boundary=ctx.permissions_boundary_arn, depends_on=ctx.boundary_dependency,
            description=f"Lambda {name}: its log group and the data-bucket prefixes it uses",
            policies={"least-privilege": policy(
                statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [arns.log_streams(log_group.name)]),
                *_s3_statements(arns, data_bucket, reads, (), creates=creates),
            )},
        )
        zip_bytes = deterministic_zip(HERE / "lambda" / fn, HERE / "lambda" / "shared")
        add(log_group)
        add(role)
        fn_timeouts[fn] = overrides.timeout_seconds or s.lambda_defaults.timeout_seconds
        add(FunctionSpec(
            name=name, component=comp, tags=ctx.tags(comp), depends_on=(role.key, log_group.key),
            role_arn=arns.role(role.name), runtime=s.lambda_defaults.runtime, handler="handler.handler",
            memory_mb=overrides.memory_mb or s.lambda_defaults.memory_mb,
            timeout_seconds=fn_timeouts[fn],
            architecture=s.lambda_defaults.architecture, reserved_concurrency=overrides.reserved_concurrency,
            environment={**_function_environment(ctx, fn), **overrides.environment},
            description=f"fpac {fn} ({ctx.environment})", zip_bytes=zip_bytes, code_sha256=lambda_code_sha256(zip_bytes),
        ))

    # ---- Glue jobs -------------------------------------------------------------------------
    bucket = ctx.artifact_bucket
    job_names = {j: ctx.name(j) for j in JOBS}
    job_timeouts: dict[str, int] = {}  # each job's own timeout (minutes): its workflow task's TimeoutSeconds follows it
    for job in JOBS:
        name = job_names[job]
        entry, libraries = _glue_sources(job)
        objects = [ObjectSpec(name=f"{bucket}/{_script_key(ctx, job, p)}", component=job, tags=ctx.tags(job), bucket=bucket,
                              object_key=_script_key(ctx, job, p), body=p.read_bytes(),
                              depends_on=(resource_key(BucketSpec.kind, bucket),)) for p in (entry, *libraries)]
        specs.extend(objects)
        reads, writes = JOB_IO[job]
        role = RoleSpec(
            name=ctx.role_name(job), component=job, tags=ctx.tags(job), trust_service="glue.amazonaws.com",
            permissions_boundary=ctx.permissions_boundary_arn, depends_on=ctx.boundary_dependency,
            description=f"Glue job {name}: its scripts, its input and output prefixes, Glue's log groups",
            policies={"least-privilege": policy(
                statement("Scripts", ["s3:GetObject"], [arns.objects(bucket, f"{ctx.project}/{ctx.environment}/glue/{job}/")]),
                *_s3_statements(arns, data_bucket, reads, writes),
                statement("GlueLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                          [arns.log_group("/aws-glue/jobs/*"), arns.log_streams("/aws-glue/jobs/*")]),
            )},
        )
        add(role)
        o = s.jobs.get(job, GlueJobSettings())
        g = s.glue_defaults
        job_timeouts[job] = o.timeout_minutes or g.timeout_minutes
        add(GlueJobSpec(
            name=name, component=job, tags=ctx.tags(job), depends_on=(role.key, *(x.key for x in objects)),
            role_arn=arns.role(role.name), script_location=f"s3://{objects[0].name}",
            glue_version=g.glue_version, worker_type=o.worker_type or g.worker_type,
            number_of_workers=o.number_of_workers or g.number_of_workers, timeout_minutes=job_timeouts[job],
            max_retries=g.max_retries if o.max_retries is None else o.max_retries,
            max_concurrent_runs=o.max_concurrent_runs or g.max_concurrent_runs,
            default_arguments={
                "--extra-py-files": ",".join(f"s3://{x.name}" for x in objects[1:]),
                "--job-bookmark-option": g.job_bookmarks,
                "--enable-continuous-cloudwatch-log": "true",
                "--enable-metrics": "true",
                **({"--max_reject_ratio": str(s.max_reject_ratio)} if job == "cleaning" else {}),
            },
            description=f"fpac {job} stage ({ctx.environment})",
        ))

    # ---- Catalog and crawler ---------------------------------------------------------------
    database = GlueDatabaseSpec(name=ctx.name("catalog").replace("-", "_"), component="catalog", tags=ctx.tags("catalog"),
                                description="fpac curated outputs")
    add(database)
    crawler_name = ctx.name("final-crawler")
    crawler_role = RoleSpec(
        name=ctx.role_name("final-crawler"), component="crawler", tags=ctx.tags("crawler"), trust_service="glue.amazonaws.com",
        permissions_boundary=ctx.permissions_boundary_arn, depends_on=ctx.boundary_dependency,
        description=f"Crawler {crawler_name}: reads final/, writes tables of {database.name}",
        policies={"least-privilege": policy(
            *_s3_statements(arns, data_bucket, (FINAL,), ()),
            statement("Catalog", ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable",
                                  "glue:GetPartition", "glue:GetPartitions", "glue:BatchCreatePartition", "glue:BatchGetPartition",
                                  "glue:UpdatePartition"],
                      [arns.glue_catalog(), arns.glue_database(database.name), arns.glue_tables(database.name)]),
            statement("CrawlerLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                      [arns.log_group("/aws-glue/crawlers"), arns.log_streams("/aws-glue/crawlers")]),
        )},
    )
    add(crawler_role)
    c = s.crawler
    add(CrawlerSpec(
        name=crawler_name, component="crawler", tags=ctx.tags("crawler"), depends_on=(crawler_role.key, database.key),
        role_arn=arns.role(crawler_role.name), database=database.name, s3_targets=(f"s3://{data_bucket}/{FINAL}",), exclusions=("**/_SUCCESS", "**.crc"),
        schedule=c.schedule, update_behavior=c.update_behavior, delete_behavior=c.delete_behavior, table_prefix=c.table_prefix,
        description="Registers the fpac curated tables",
    ))

    # ---- Workflow --------------------------------------------------------------------------
    sm_name = ctx.name("workflow")
    sm_log = LogGroupSpec(name=f"/aws/vendedlogs/states/{sm_name}", component="workflow", tags=ctx.tags("workflow"),
                          retention_days=ctx.config.log_retention_days)
    add(sm_log)
    alias_arns = {f: arns.function(fn_names[f], "live") for f in FUNCTIONS}
    refs = fpac_stepfunctions.WorkflowRefs(
        validate_function_arn=alias_arns["Validate"], create_id_function_arn=alias_arns["CreateNewId"],
        log_results_function_arn=alias_arns["LogResults"], landing_job_name=job_names["landing"],
        cleaning_job_name=job_names["cleaning"], final_job_name=job_names["final"], crawler_name=crawler_name,
        validate_timeout_seconds=fn_timeouts["Validate"], create_id_timeout_seconds=fn_timeouts["CreateNewId"],
        log_results_timeout_seconds=fn_timeouts["LogResults"], landing_job_timeout_minutes=job_timeouts["landing"],
        cleaning_job_timeout_minutes=job_timeouts["cleaning"], final_job_timeout_minutes=job_timeouts["final"],
        partition=arns.partition,
    )
    sm_statements = [
        statement("InvokePipelineFunctions", ["lambda:InvokeFunction"], list(alias_arns.values())),
        statement("RunPipelineJobs", ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
                  [arns.glue_job(n) for n in job_names.values()]),
        statement("StartCrawler", ["glue:StartCrawler"], [arns.crawler(crawler_name)]),
    ]
    if s.state_machine.log_level != "OFF":
        # CloudWatch Logs delivery for Step Functions only accepts Resource "*" (AWS documentation).
        sm_statements.append(statement("LogDelivery", [
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"], "*"))
    if s.state_machine.tracing:
        sm_statements.append(statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                                   "xray:GetSamplingRules", "xray:GetSamplingTargets"], "*"))
    sm_role = RoleSpec(name=ctx.role_name("workflow"), component="workflow", tags=ctx.tags("workflow"), trust_service="states.amazonaws.com",
                       permissions_boundary=ctx.permissions_boundary_arn, depends_on=ctx.boundary_dependency,
                       description=f"State machine {sm_name}: its three functions, three jobs and the crawler",
                       policies={"least-privilege": policy(*sm_statements)})
    add(sm_role)
    sm = StateMachineSpec(
        name=sm_name, component="workflow", tags=ctx.tags("workflow"), arn=arns.state_machine(sm_name),
        depends_on=(sm_role.key, sm_log.key, *(f"lambda_function:{n}" for n in fn_names.values()),
                    *(f"glue_job:{n}" for n in job_names.values()), f"glue_crawler:{crawler_name}"),
        role_arn=arns.role(sm_role.name), definition=fpac_stepfunctions.build_definition(refs),
        log_group_arn=arns.log_group(sm_log.name), log_level=s.state_machine.log_level,
        include_execution_data=s.state_machine.include_execution_data, tracing=s.state_machine.tracing,
    )
    add(sm)

    # ---- Trigger: S3 Object Created under incoming/ -> EventBridge -> the state machine ------
    rule_name = ctx.name("incoming")
    trigger_role = RoleSpec(name=ctx.role_name("incoming"), component="trigger", tags=ctx.tags("trigger"),
                            trust_service="events.amazonaws.com", description=f"EventBridge rule {rule_name}: start {sm_name}",
                            permissions_boundary=ctx.permissions_boundary_arn, depends_on=ctx.boundary_dependency,
                            policies={"least-privilege": policy(statement("StartWorkflow", ["states:StartExecution"], [sm.arn]))})
    add(trigger_role)
    add(EventRuleSpec(
        name=rule_name, component="trigger", tags=ctx.tags("trigger"), depends_on=(sm.key, trigger_role.key, data.key),
        event_pattern={"source": ["aws.s3"], "detail-type": ["Object Created"],
                       "detail": {"bucket": {"name": [data_bucket]}, "object": {"key": [{"prefix": INCOMING}]}}},
        target_arn=sm.arn, target_role_arn=arns.role(trigger_role.name),
        description=f"Start {sm_name} when a file lands in s3://{data_bucket}/{INCOMING}",
    ))
    return specs


def _function_environment(ctx: ProjectContext, fn: str) -> dict[str, str]:
    """What each handler reads from its environment (see each handler's docstring)."""
    s: Settings = ctx.settings
    if fn == "Validate":
        return {"MAX_FILE_BYTES": str(s.max_file_mb * 1024 * 1024)}
    return {"DATA_BUCKET": ctx.bucket(s.data_bucket)}


def _s3_statements(arns: Arns, bucket: str, reads: tuple[str, ...], writes: tuple[str, ...],
                   creates: tuple[str, ...] = ()) -> list[dict]:
    """Object access on exactly the prefixes used, and listing limited to the ones read or rewritten.

    ``writes`` may be overwritten (Spark's overwrite deletes the old run partition); ``creates`` only get new objects.
    """
    out = []
    if reads:
        out.append(statement("ReadInputs", ["s3:GetObject"], [arns.objects(bucket, p) for p in reads]))
    if writes:
        out.append(statement("WriteOutputs", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [arns.objects(bucket, p) for p in writes]))
    if creates:
        out.append(statement("CreateOutputs", ["s3:PutObject"], [arns.objects(bucket, p) for p in creates]))
    if reads or writes:
        out.append(statement("ListOwnPrefixes", ["s3:ListBucket"], [arns.bucket(bucket)],
                             {"StringLike": {"s3:prefix": sorted(f"{p}*" for p in (*reads, *writes))}}))
    return out


def _glue_sources(job: str) -> tuple[Path, list[Path]]:
    """The job's entry script and the library modules it imports (its folder's other files and glue/shared/)."""
    folder = HERE / "glue" / f"{job}Files"
    entry = folder / f"{job}_job.py"
    if not entry.is_file():
        raise FileNotFoundError(f"Glue entry script not found: {entry}")
    shared = HERE / "glue" / "shared"
    libraries = [p for p in source_files(folder) if p.suffix == ".py" and p != entry]
    if shared.is_dir():
        libraries += [p for p in source_files(shared) if p.suffix == ".py"]
    return entry, libraries


def _script_key(ctx: ProjectContext, job: str, path: Path) -> str:
    return f"{ctx.project}/{ctx.environment}/glue/{job}/{path.name}"


def run_target(ctx: ProjectContext) -> RunTarget:
    """Where ``deploy.py run`` drops a file, and which states' outputs make the run's report."""
    return RunTarget(bucket=ctx.bucket(ctx.settings.data_bucket), incoming_prefix=INCOMING,
                     state_machine_arn=ctx.arns.state_machine(ctx.name("workflow")),
                     report_states=(fpac_stepfunctions.LOG_SUCCESS, fpac_stepfunctions.LOG_FAILURE), record_prefix=RESULTS)
