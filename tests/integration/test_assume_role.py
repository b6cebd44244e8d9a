"""Assumed-role credentials are refreshed before they expire (a deploy or a run may outlast the 1 h session)."""
from __future__ import annotations

import datetime as dt

import pytest

from deploy.common.aws_common import AwsClients, AwsTarget, check_account
from deploy.common.preparation import connect, prepare
from deploy.common.errors import AccountMismatchError, AwsCallError

ROLE = "arn:aws:iam::123456789012:role/pipeline-deployer"


def _clients(endpoint: str, role: str = ROLE) -> tuple[AwsClients, list[str]]:
    assumed: list[str] = []
    hook = ("before-parameter-build.sts.AssumeRole", lambda params, **_: assumed.append(params["RoleArn"]))
    target = AwsTarget(region="us-east-2", endpoint_url=endpoint, assume_role_arn=role)
    return AwsClients(target, event_hooks=[hook]), assumed


def test_credentials_are_refreshed_with_a_new_assume_role_before_they_expire(aws_endpoint):
    clients, assumed = _clients(aws_endpoint)
    assert assumed == [ROLE]  # assumed once, up front: a refused role fails before any other call
    s3, sts = clients.client("s3"), clients.client("stepfunctions")
    s3.list_buckets()
    sts.list_state_machines()
    assert clients.caller_account() == "123456789012"
    assert len(assumed) == 1, "valid credentials are reused, not re-assumed per call"
    first_key = clients.credentials.get_frozen_credentials().access_key

    # Five minutes left (as after ~55 minutes of a long deploy or run): inside botocore's refresh window.
    clients.credentials._expiry_time = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    s3.list_buckets()
    assert assumed == [ROLE, ROLE], "the next call re-assumed the role"
    frozen = clients.credentials.get_frozen_credentials()
    assert frozen.access_key != first_key
    assert clients.credentials._expiry_time - dt.datetime.now(dt.timezone.utc) > dt.timedelta(minutes=30)

    # Every client shares the refreshed credentials and keeps working; no further AssumeRole.
    sts.list_state_machines()
    clients.client("glue").get_databases()
    check_account(clients, "123456789012", "cfg.json")  # the account guard still answers for the assumed role
    assert len(assumed) == 2


def test_account_guard_sees_the_assumed_roles_account(aws_endpoint):
    clients, _ = _clients(aws_endpoint, role="arn:aws:iam::210987654321:role/pipeline-deployer")
    assert clients.caller_account() == "210987654321"
    with pytest.raises(AccountMismatchError, match="credentials are for account 210987654321, config names 123456789012"):
        check_account(clients, "123456789012", "cfg.json")


def test_a_config_with_assume_role_arn_connects_through_the_role(write_config, aws_endpoint):
    config = write_config(lambda d: d["aws"].update({"assume_role_arn": ROLE}))
    prepared = prepare(config, "us-east-2", "fpac")
    engine = connect(prepared)  # assumes the role, then the account guard
    assert engine.clients.caller_account() == "123456789012"
    other = write_config(lambda d: d["aws"].update({"assume_role_arn": "arn:aws:iam::111111111111:role/x"}), name="o.json")
    with pytest.raises(AccountMismatchError):
        connect(prepare(other, "us-east-2", "fpac"))


def test_a_role_that_cannot_be_assumed_is_a_credentials_error_before_any_other_call(write_config, aws_endpoint):
    prepared = prepare(write_config(), "us-east-2", "fpac")
    target = AwsTarget(region="us-east-2", endpoint_url=aws_endpoint, assume_role_arn="not-a-role")  # STS refuses it
    with pytest.raises(AwsCallError, match=r"(?s)itest.json: aws: cannot get credentials: .*RoleArn"):
        connect(prepared, target=target)


def test_plan_assumes_the_plan_role_and_deploy_the_deploy_role(write_config, aws_endpoint, monkeypatch):
    from click.testing import CliRunner

    from deploy.cli import cli
    from deploy.common import preparation

    assumed: list[str | None] = []
    real = preparation.AwsClients

    def spy(target, **kwargs):
        assumed.append(target.assume_role_arn)
        return real(target, **kwargs)

    monkeypatch.setattr(preparation, "AwsClients", spy)
    config = write_config(lambda d: d["aws"].update({"assume_role_arn": ROLE,
                                                     "plan_role_arn": "arn:aws:iam::123456789012:role/pipeline-planner"}))
    target = ["--config", str(config), "--region", "us-east-2", "--project-type", "fpac"]
    assert CliRunner().invoke(cli, ["plan", *target]).exit_code == 2
    assert CliRunner().invoke(cli, ["deploy", *target, "--yes"]).exit_code == 0
    assert assumed == ["arn:aws:iam::123456789012:role/pipeline-planner", ROLE]
