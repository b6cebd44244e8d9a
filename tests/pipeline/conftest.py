"""Fixtures for the fpac pipeline payload: one local SparkSession, and S3 buckets on the
session's local AWS endpoint (``aws_endpoint`` from tests/conftest.py)."""
from __future__ import annotations

import os
import sys
import uuid

import pytest

import fpac_test_support  # noqa: F401  (puts the Glue modules on sys.path)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One small local SparkSession for every pipeline test (otherwise Spark's defaults, as on Glue:
    ANSI off, legacy time parser policy EXCEPTION)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("fpac-pipeline-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "false")  # plans only; halves tiny-job latency
        .config("spark.default.parallelism", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def s3(aws_endpoint):
    import boto3

    return boto3.client("s3", endpoint_url=aws_endpoint, region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-2"))


@pytest.fixture
def make_bucket(s3):
    """Factory: a new, uniquely named bucket on the local endpoint."""

    def make(prefix: str = "fpac-test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        region = s3.meta.region_name
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        return name

    return make


@pytest.fixture
def lambda_env(monkeypatch, aws_endpoint):
    """Point the handlers' boto3 clients at the local endpoint, as the Lambda runtime would."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    for name in ("REQUIRED_COLUMNS", "MAX_FILE_BYTES", "HEADER_SAMPLE_BYTES", "ALLOWED_SUFFIXES", "RESULTS_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    return aws_endpoint
