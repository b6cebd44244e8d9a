"""Fixtures shared by the engine tests."""
import boto3
import pytest


@pytest.fixture
def no_aws(monkeypatch):
    """Any attempt to build an AWS client fails the test."""
    def forbidden(*args, **kwargs):
        raise AssertionError("an AWS client was created while validating")
    monkeypatch.setattr(boto3.Session, "client", forbidden)
    monkeypatch.setattr(boto3, "client", forbidden)
