"""The environment's permissions boundary: the most any pipeline role may ever do.

Every role the deployer creates carries it (``RoleSpec.permissions_boundary``), and the deployer's own policy
allows role writes only with it set (condition ``iam:PermissionsBoundary``, see ``deployer_policy.py``). So
whatever the deployer writes into a role's policies, that role can do no more than this: the services data
pipelines use, on the environment's own resources in this region (names ``<project>-<env>-*`` of the config's
projects, the buckets the config names). Never ``iam:*``, never ``sts:*``: a role can neither grant nor borrow.

A boundary only caps: each role still gets exactly its own least-privilege policy. A project whose roles need
more than this must extend it here (``tests/engine/test_boundary.py`` fails while a role asks for more).

One boundary per environment and region (``regions.boundary_name``), shared by every project of the config, so it
is built from the config alone and is the same whichever project is deployed. Or the config names an existing
policy (``aws.permissions_boundary_arn``) and the deployer only attaches it.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .iam_policies import policy, statement
from .naming import Arns, resource_name

# Actions of the boundary, by what pipeline roles do with them.
OBJECTS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
LOGS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
# CloudWatch Logs delivery for Step Functions only accepts Resource "*" (AWS documentation).
LOG_DELIVERY = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")
TRACING = ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets")
CATALOG = ("glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable", "glue:GetPartition",
           "glue:GetPartitions", "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:UpdatePartition")
JOBS = ("glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun")
CRAWLERS = ("glue:StartCrawler", "glue:GetCrawler")


def boundary_document(arns: Arns, environment: str, projects: Iterable[str], buckets: Iterable[str]) -> dict[str, Any]:
    """The boundary of ``environment`` in ``arns.region``: the config's ``projects`` and ``buckets``."""
    names = [resource_name(p, environment, "*") for p in sorted(set(projects))]  # fpac-prod-*
    catalog = [n.replace("-", "_") for n in names]  # Glue database names hold no "-": fpac_prod_*
    buckets = sorted(set(buckets))
    return policy(
        statement("PipelineData", OBJECTS, [arns.objects(b) for b in buckets]),
        statement("ListPipelineBuckets", ["s3:ListBucket"], [arns.bucket(b) for b in buckets]),
        statement("OwnLogs", LOGS, [*(arns.log_group(f"/aws/lambda/{n}") for n in names), arns.log_group("/aws-glue/*")]),
        statement("StateMachineLogDelivery", LOG_DELIVERY, "*"),
        statement("Tracing", TRACING, "*"),
        statement("Catalog", CATALOG, [arns.glue_catalog(), *(arns.glue_database(c) for c in catalog),
                                       *(arns.glue_tables(c) for c in catalog)]),
        statement("RunJobs", JOBS, [arns.glue_job(n) for n in names]),
        statement("RunCrawlers", CRAWLERS, [arns.crawler(n) for n in names]),
        statement("InvokeFunctions", ["lambda:InvokeFunction"], [arns.function(n) for n in names]),
        statement("StartWorkflows", ["states:StartExecution"], [arns.state_machine(n) for n in names]),
    )
