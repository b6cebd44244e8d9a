"""Shared pytest fixtures. The local AWS server (moto + our extensions) starts only if a test asks for it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TEST_REGION = "us-east-2"
_DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": TEST_REGION,
    "AWS_REGION": TEST_REGION,
}


@pytest.fixture(scope="session", autouse=True)
def _dummy_aws_credentials(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Dummy credentials for the whole session; the developer's ~/.aws and AWS_PROFILE are never read."""
    isolated = tmp_path_factory.mktemp("aws-config")
    overrides = {
        **_DUMMY_AWS_ENV,
        "AWS_CONFIG_FILE": str(isolated / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(isolated / "credentials"),
    }
    removed = {k: os.environ.pop(k) for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")
               if k in os.environ}
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    os.environ.update(removed)


# The suite runs against the realistic local AWS (every behaviour on), with delays shortened so
# that each deploy still meets every wait and retry but the suite stays fast.
TEST_REALISM = {
    "iam_propagation_seconds": 1.0,
    "lambda_pending_seconds": 0.5,
    "lambda_update_seconds": 0.5,
    "crawler_run_seconds": 1.0,
    "sfn_stale_read_seconds": 0.5,
    "events_failed_calls_per_rule": 1,
    "s3_conflict_seconds": 1.0,
}


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of one local AWS server for the session (realism on, short delays), in its own temp state dir."""
    import json

    from deploy.local_aws.manager import spawn_server
    from deploy.local_aws.realism.settings import ENV_VAR

    state_dir: Path = tmp_path_factory.mktemp("local-aws")
    handle = spawn_server(state_dir, detach=False, exit_with_pid=os.getpid(),
                          extra_env={ENV_VAR: json.dumps(TEST_REALISM)})
    try:
        yield handle.endpoint
    finally:
        handle.terminate()


@pytest.fixture
def clean_aws_endpoint(aws_endpoint: str) -> str:
    """The session's local AWS, emptied before this test (moto reset, our config re-applied)."""
    from deploy.local_aws.admin import reset_local_aws

    reset_local_aws(aws_endpoint)
    return aws_endpoint


@pytest.fixture
def realism(aws_endpoint: str) -> Iterator[Callable[..., dict[str, Any]]]:
    """Change the server's realism settings for one test: realism(iam_propagation_seconds=3); restored after."""
    from deploy.local_aws.admin import set_realism

    yield lambda **overrides: set_realism(aws_endpoint, overrides)
    set_realism(aws_endpoint, {}, from_defaults=True)


@pytest.fixture
def local_aws_client(aws_endpoint: str) -> Callable[..., Any]:
    """Factory: local_aws_client("s3") -> a boto3 client bound to the local AWS endpoint."""
    import boto3

    def make(service: str, **kwargs: Any) -> Any:
        return boto3.client(service, endpoint_url=aws_endpoint, region_name=TEST_REGION, **kwargs)

    return make
