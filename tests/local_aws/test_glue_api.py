"""Glue UpdateJob / UpdateCrawler / GetCrawlerMetrics and crawler completion, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .support import create_role, wait_until


@pytest.fixture
def glue(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> Any:
    return local_aws_client("glue")


@pytest.fixture
def role(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> str:
    return create_role(local_aws_client("iam"))


def test_update_job_replaces_the_definition(glue: Any, role: str) -> None:
    glue.create_job(Name="j", Role=role, Command={"Name": "glueetl", "ScriptLocation": "s3://a/old.py"},
                    DefaultArguments={"--a": "1"}, Timeout=30, MaxRetries=2, Tags={"team": "x"})
    created = glue.get_job(JobName="j")["Job"]

    answer = glue.update_job(JobName="j", JobUpdate={
        "Role": role, "Command": {"Name": "glueetl", "ScriptLocation": "s3://a/new.py"},
        "GlueVersion": "4.0", "WorkerType": "G.1X", "NumberOfWorkers": 2})
    assert answer["JobName"] == "j"

    job = glue.get_job(JobName="j")["Job"]
    assert job["Command"]["ScriptLocation"] == "s3://a/new.py"
    assert (job["GlueVersion"], job["WorkerType"], job["NumberOfWorkers"]) == ("4.0", "G.1X", 2)
    assert job.get("DefaultArguments", {}) == {}  # not in JobUpdate -> cleared, as on AWS
    assert "Timeout" not in job and "MaxRetries" not in job
    assert job["CreatedOn"] == created["CreatedOn"] and job["LastModifiedOn"] > created["LastModifiedOn"]
    arn = "arn:aws:glue:us-east-2:123456789012:job/j"
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {"team": "x"}  # tags are not part of the definition


def test_update_unknown_job_or_crawler_is_entity_not_found(glue: Any, role: str) -> None:
    with pytest.raises(ClientError) as job_err:
        glue.update_job(JobName="nope", JobUpdate={"Role": role, "Command": {"Name": "glueetl"}})
    assert job_err.value.response["Error"]["Code"] == "EntityNotFoundException"
    with pytest.raises(ClientError) as crawler_err:
        glue.update_crawler(Name="nope", Description="x")
    assert crawler_err.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_update_crawler_changes_only_given_fields(glue: Any, role: str) -> None:
    glue.create_database(DatabaseInput={"Name": "db"})
    glue.create_crawler(Name="c", Role=role, DatabaseName="db", Description="first",
                        Targets={"S3Targets": [{"Path": "s3://a/in/"}]}, TablePrefix="t_")
    before = glue.get_crawler(Name="c")["Crawler"]

    glue.update_crawler(Name="c", Targets={"S3Targets": [{"Path": "s3://a/out/"}]}, Description="second")

    after = glue.get_crawler(Name="c")["Crawler"]
    assert after["Targets"] == {"S3Targets": [{"Path": "s3://a/out/"}]}
    assert after["Description"] == "second"
    assert (after["TablePrefix"], after["DatabaseName"], after["Role"]) == ("t_", "db", role)
    assert after["Version"] == before["Version"] + 1


def test_started_crawler_finishes_and_reports_metrics(glue: Any, role: str) -> None:
    glue.create_database(DatabaseInput={"Name": "db"})
    glue.create_crawler(Name="c", Role=role, DatabaseName="db", Targets={"S3Targets": [{"Path": "s3://a/"}]})
    glue.start_crawler(Name="c")
    assert glue.get_crawler(Name="c")["Crawler"]["State"] == "RUNNING"
    with pytest.raises(ClientError) as running:
        glue.update_crawler(Name="c", Description="while running")
    assert running.value.response["Error"]["Code"] == "CrawlerRunningException"

    started = time.monotonic()
    crawler = wait_until(lambda: (c := glue.get_crawler(Name="c")["Crawler"])["State"] == "READY" and c,
                         timeout=10, what="crawler READY")
    assert time.monotonic() - started < 10
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"

    metrics = glue.get_crawler_metrics(CrawlerNameList=["c", "unknown"])["CrawlerMetricsList"]
    assert [m["CrawlerName"] for m in metrics] == ["c"]
    assert metrics[0]["LastRuntimeSeconds"] > 0 and metrics[0]["StillEstimating"] is False
    glue.start_crawler(Name="c")  # a finished crawler can run again
    assert glue.get_crawler(Name="c")["Crawler"]["State"] == "RUNNING"
