"""AWS clients for the fpac Lambda handlers (packaged into every function's zip as a flat module)."""
import os
from functools import lru_cache

import boto3
from botocore.config import Config


@lru_cache(maxsize=4)
def _s3_client(_endpoint, _region):
    # boto3 reads the endpoint and region from the environment itself; the arguments only key the cache,
    # so a changed AWS_ENDPOINT_URL or region gets a new client.
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
    return boto3.client("s3", config=config)


def s3_client():
    """An S3 client for the current environment (AWS_ENDPOINT_URL[_S3], AWS_REGION), cached."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return _s3_client(endpoint, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
