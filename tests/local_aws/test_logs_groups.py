"""DescribeLogGroups with logGroupIdentifiers: exactly the groups named (by name or ARN), sorted; alone or refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def logs(clean_aws_endpoint: str, local_aws_client: Callable[..., Any]) -> Any:
    client = local_aws_client("logs")
    for name in ("/aws/lambda/a", "/aws/lambda/ab", "/aws/lambda/b"):
        client.create_log_group(logGroupName=name)
    client.put_retention_policy(logGroupName="/aws/lambda/b", retentionInDays=7)
    return client


def test_identifiers_answer_exactly_the_groups_named_sorted(logs: Any) -> None:
    found = logs.describe_log_groups(logGroupIdentifiers=["/aws/lambda/b", "/aws/lambda/a", "/aws/lambda/missing"])["logGroups"]
    assert [g["logGroupName"] for g in found] == ["/aws/lambda/a", "/aws/lambda/b"]  # not /aws/lambda/ab (no prefix match)
    assert found[1]["retentionInDays"] == 7
    arn = "arn:aws:logs:us-east-2:123456789012:log-group:/aws/lambda/ab:*"
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupIdentifiers=[arn])["logGroups"]] == ["/aws/lambda/ab"]


def test_without_identifiers_the_prefix_still_works(logs: Any) -> None:
    found = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/a")["logGroups"]
    assert [g["logGroupName"] for g in found] == ["/aws/lambda/a", "/aws/lambda/ab"]


def test_identifiers_with_a_prefix_or_more_than_fifty_are_refused(logs: Any) -> None:
    with pytest.raises(ClientError) as both:
        logs.describe_log_groups(logGroupIdentifiers=["/aws/lambda/a"], logGroupNamePrefix="/aws/")
    assert both.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as many:
        logs.describe_log_groups(logGroupIdentifiers=[f"/g/{i}" for i in range(51)])
    assert many.value.response["Error"]["Code"] == "InvalidParameterException"
