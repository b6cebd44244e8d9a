"""The fpac pipeline's desired state: its settings model and ``build_specs``. Pure: no AWS calls.

Resources (names for env 'dev'):
  s3 bucket       fpac-dev data bucket from config (incoming/ -> landing/ -> clean/ + quarantine/ -> final/, results/)
  lambda          fpac-dev-validate, fpac-dev-createnewid, fpac-dev-logresults (alias 'live')
  glue job        fpac-dev-landing, fpac-dev-cleaning, fpac-dev-final (scripts in the artifact bucket)
  glue crawler    fpac-dev-final-crawler over final/ into database fpac_dev
  state machine   fpac-dev-workflow, started by event rule fpac-dev-incoming on S3 'Object Created'
  sns topic       fpac-dev-failures, told by event rule fpac-dev-failures of each failed, timed-out or aborted run
  iam role        one per component, each scoped to the ARNs it uses, all under the environment's permissions boundary
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from deploy.common.config import (
    BucketName, CrawlerSettings, GlueDefaults, GlueJobSettings, LambdaDefaults, LambdaSettings, NotificationSettings,
    StateMachineSettings, StrictModel,
)
from deploy.common.components import Pipeline
from deploy.common.context import ProjectContext, RunTarget
from deploy.common.kinds.base import Spec

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
    notifications: NotificationSettings = Field(default_factory=NotificationSettings,
                                                description="Subscribers told of every failed, timed-out or aborted run; "
                                                            "none: the topic exists without subscribers.")


def build_specs(ctx: ProjectContext) -> list[Spec]:
    s: Settings = ctx.settings
    p = Pipeline(ctx)
    data = p.data_bucket(s.data_bucket)

    functions = {fn: p.lambda_function(
        fn.lower(), source=HERE / "lambda" / fn, shared=HERE / "lambda" / "shared", settings=s.functions.get(fn),
        defaults=s.lambda_defaults, access=data.access(reads=FUNCTION_IO[fn][0], creates=FUNCTION_IO[fn][1]),
        environment=_function_environment(ctx, fn), description=f"fpac {fn} ({ctx.environment})",
    ) for fn in FUNCTIONS}

    jobs = {}
    for job in JOBS:
        entry, libraries = p.glue_sources(HERE / "glue" / f"{job}Files", f"{job}_job.py", shared=HERE / "glue" / "shared")
        reads, writes = JOB_IO[job]
        jobs[job] = p.glue_job(job, entry=entry, libraries=libraries, settings=s.jobs.get(job), defaults=s.glue_defaults,
                               access=data.access(reads=reads, writes=writes), description=f"fpac {job} stage ({ctx.environment})",
                               arguments={"--max_reject_ratio": str(s.max_reject_ratio)} if job == "cleaning" else None)

    crawler = p.crawler("final-crawler", database=p.catalog(), bucket=data, prefix=FINAL, settings=s.crawler,
                        description="Registers the fpac curated tables")

    refs = fpac_stepfunctions.WorkflowRefs(
        validate_function_arn=functions["Validate"].alias_arn, create_id_function_arn=functions["CreateNewId"].alias_arn,
        log_results_function_arn=functions["LogResults"].alias_arn, landing_job_name=jobs["landing"].name,
        cleaning_job_name=jobs["cleaning"].name, final_job_name=jobs["final"].name, crawler_name=crawler.name,
        validate_timeout_seconds=functions["Validate"].timeout_seconds,
        create_id_timeout_seconds=functions["CreateNewId"].timeout_seconds,
        log_results_timeout_seconds=functions["LogResults"].timeout_seconds,
        landing_job_timeout_minutes=jobs["landing"].timeout_minutes, cleaning_job_timeout_minutes=jobs["cleaning"].timeout_minutes,
        final_job_timeout_minutes=jobs["final"].timeout_minutes, partition=ctx.arns.partition,
    )
    workflow = p.workflow("workflow", definition=fpac_stepfunctions.build_definition(refs),
                          calls=[*functions.values(), *jobs.values(), crawler], settings=s.state_machine)
    p.s3_trigger("incoming", bucket=data, prefix=INCOMING, workflow=workflow)
    p.failure_notifications("failures", workflow=workflow, settings=s.notifications)
    return p.specs


def _function_environment(ctx: ProjectContext, fn: str) -> dict[str, str]:
    """What each handler reads from its environment (see each handler's docstring)."""
    s: Settings = ctx.settings
    if fn == "Validate":
        return {"MAX_FILE_BYTES": str(s.max_file_mb * 1024 * 1024)}
    return {"DATA_BUCKET": ctx.bucket(s.data_bucket)}


def run_target(ctx: ProjectContext) -> RunTarget:
    """Where ``deploy.py run`` drops a file, and which states' outputs make the run's report."""
    return RunTarget(bucket=ctx.bucket(ctx.settings.data_bucket), incoming_prefix=INCOMING,
                     state_machine_arn=ctx.arns.state_machine(ctx.name("workflow")),
                     report_states=(fpac_stepfunctions.LOG_SUCCESS, fpac_stepfunctions.LOG_FAILURE), record_prefix=RESULTS)


def summarize_run(record: dict) -> list[str]:
    """``deploy.py run``'s account of an fpac run record (LogResults writes it; see docs/fpac-pipeline.md, 'S3 layout' and 'Stages')."""
    lines = []
    if record.get("failed_stage"):
        lines.append(f"failed stage: {record['failed_stage']}: {record.get('error')}")
    lines += [f"invalid file: {reason}" for reason in record.get("validation_reasons") or []]
    counts = {k: v for k, v in (record.get("row_counts") or {}).items() if v is not None}
    if counts:
        lines.append("rows: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    lines += [f"  rejected {count} × {reason}" for reason, count in (record.get("reject_reasons") or {}).items()]
    lines += [f"{zone:<10} {uri}" for zone, uri in (record.get("outputs") or {}).items()]
    return lines
