"""Our server answers its health check, and a moto reset keeps our config (Lambda runs code, no Docker)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from deploy.local_aws.admin import health, reset_local_aws
from .support import create_role, make_zip


def test_health_identifies_our_server(aws_endpoint: str) -> None:
    answer = health(aws_endpoint)
    assert answer is not None
    assert answer["endpoint"] == aws_endpoint and answer["moto"] == "5.2.1"
    assert health("http://127.0.0.1:9") is None  # nothing listens there


def test_reset_empties_and_keeps_lambda_running_real_code(
    clean_aws_endpoint: str, local_aws_client: Callable[..., Any]
) -> None:
    s3 = local_aws_client("s3")
    s3.create_bucket(Bucket="before-reset", CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    reset_local_aws(clean_aws_endpoint)
    assert s3.list_buckets()["Buckets"] == []

    with urllib.request.urlopen(clean_aws_endpoint + "/moto-api/config") as resp:
        assert json.loads(resp.read())["lambda"] == {"use_docker": False}
    lam = local_aws_client("lambda")
    lam.create_function(
        FunctionName="after-reset", Runtime="python3.11", Role=create_role(local_aws_client("iam")),
        Handler="app.handler", Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return e['n'] * 3\n"})},
    )
    assert lam.invoke(FunctionName="after-reset", Payload=b'{"n": 7}')["Payload"].read() == b"21"
