"""An orders pipeline written against the project API only (the "Adding a pipeline" example):
price each order file, notify and total big ones in parallel, catalog the totals."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field

from deploy.common.components import Pipeline
from deploy.common.config import (
    BucketName, CrawlerSettings, GlueDefaults, GlueJobSettings, LambdaDefaults, LambdaSettings, StateMachineSettings, StrictModel,
)
from deploy.common.context import ProjectContext, RunTarget
from deploy.common.workflow_tasks import catch_all, crawler_task, glue_task, lambda_task

HERE = Path(__file__).resolve().parent


class Settings(StrictModel):
    data_bucket: BucketName
    lambda_defaults: LambdaDefaults = Field(default_factory=LambdaDefaults)
    functions: dict[str, LambdaSettings] = Field(default_factory=dict)
    glue_defaults: GlueDefaults = Field(default_factory=GlueDefaults)
    jobs: dict[str, GlueJobSettings] = Field(default_factory=dict)
    crawler: CrawlerSettings = Field(default_factory=CrawlerSettings)
    state_machine: StateMachineSettings = Field(default_factory=StateMachineSettings)


def build_specs(ctx: ProjectContext) -> list:
    s, p, partition = ctx.settings, Pipeline(ctx), ctx.arns.partition
    data = p.data_bucket(s.data_bucket)
    price = p.lambda_function("price", source=HERE / "lambda" / "price", settings=s.functions.get("price"),
                              defaults=s.lambda_defaults, access=data.access(reads=("orders/",)))
    notify = p.lambda_function("notify", source=HERE / "lambda" / "notify", settings=s.functions.get("notify"),
                               defaults=s.lambda_defaults, access=data.access(creates=("notices/",)))
    entry, libraries = p.glue_sources(HERE / "glue", "totals_job.py")
    totals = p.glue_job("totals", entry=entry, libraries=libraries, settings=s.jobs.get("totals"), defaults=s.glue_defaults,
                        access=data.access(reads=("orders/",), writes=("totals/",)))
    crawler = p.crawler("totals-crawler", database=p.catalog(), bucket=data, prefix="totals/", settings=s.crawler)
    failed = catch_all("Failed")
    definition = {"StartAt": "Price", "States": {
        "Price": lambda_task(price.alias_arn, price.timeout_seconds, partition, "Big", result_path="$.price", catch=failed),
        "Big": {"Type": "Choice", "Default": "Totals",
                "Choices": [{"Variable": "$.price.Payload.total", "NumericGreaterThan": 1000, "Next": "NotifyAndTotal"}]},
        "NotifyAndTotal": {"Type": "Parallel", "ResultPath": None, "Next": "Catalog", "Catch": failed, "Branches": [
            {"StartAt": "Notify", "States": {"Notify": lambda_task(notify.alias_arn, notify.timeout_seconds, partition, None)}},
            {"StartAt": "TotalBig", "States": {
                "TotalBig": glue_task(totals.name, totals.timeout_minutes, partition, None, arguments={})}},
        ]},
        "Totals": glue_task(totals.name, totals.timeout_minutes, partition, "Catalog", arguments={}, result_path=None,
                            catch=failed),
        "Catalog": crawler_task(crawler.name, partition, None, catch=failed),
        "Failed": {"Type": "Fail", "Error": "OrdersFailed"},
    }}
    flow = p.workflow("workflow", definition=definition, calls=[price, notify, totals, crawler], settings=s.state_machine)
    p.s3_trigger("incoming", bucket=data, prefix="orders/", workflow=flow)
    return p.specs


def run_target(ctx: ProjectContext) -> RunTarget:
    return RunTarget(bucket=ctx.bucket(ctx.settings.data_bucket), incoming_prefix="orders/",
                     state_machine_arn=ctx.arns.state_machine(ctx.name("workflow")))
