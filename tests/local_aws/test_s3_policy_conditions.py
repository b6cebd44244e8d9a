"""Bucket-policy conditions on the request (moto gap): Null on s3:if-none-match, as AWS enforces conditional writes."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .support import create_bucket

APPEND_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
     "Resource": ["arn:aws:s3:::append-only/log/*"]},
    {"Sid": "NoOverwrite", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
     "Resource": ["arn:aws:s3:::append-only/log/*"], "Condition": {"Null": {"s3:if-none-match": "true"}}},
]}


def test_a_deny_holds_only_when_its_condition_does(clean_aws_endpoint, local_aws_client):
    s3 = local_aws_client("s3")
    create_bucket(s3, "append-only")
    s3.put_bucket_policy(Bucket="append-only", Policy=json.dumps(APPEND_ONLY))
    s3.put_object(Bucket="append-only", Key="log/1.json", Body=b"{}", IfNoneMatch="*")  # conditional: allowed
    s3.put_object(Bucket="append-only", Key="other/x", Body=b"{}")  # outside the pattern: allowed
    for call in (lambda: s3.put_object(Bucket="append-only", Key="log/1.json", Body=b"{}"),
                 lambda: s3.put_object(Bucket="append-only", Key="log/2.json", Body=b"{}"),
                 lambda: s3.delete_object(Bucket="append-only", Key="log/1.json")):
        with pytest.raises(ClientError, match="403"):
            call()
    s3.delete_object(Bucket="append-only", Key="other/x")
