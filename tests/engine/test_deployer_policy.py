"""The deployer's own policy: complete for the calls it makes, scoped to one project in one environment."""
import json
from pathlib import Path

import pytest

from deploy.common.deployer_policy import ACCEPTED_FINDINGS, ACTIONS, deployer_policy
from deploy.common.deployment import prepare
from deploy.common.iam_policies import check_policies
from deploy.common.resources import KNOWN_KINDS

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
STAR_SIDS = {"AccountAndListing", "CreateCrawlers", "StateMachineLogDelivery"}


@pytest.fixture(scope="module")
def prod_policy():
    prepared = prepare(CONFIG_DIR / "prod.json", "us-east-2", "fpac")
    return deployer_policy(prepared.specs, prepared.context.arns, prepared.record)


def test_every_resource_kind_has_its_actions():
    assert set(ACTIONS) == set(KNOWN_KINDS)


def test_policy_lints_clean_and_fits_an_inline_role_policy(prod_policy):
    check_policies([("deployer", {"deployer": prod_policy})], accepted=ACCEPTED_FINDINGS)
    assert len(json.dumps(prod_policy, separators=(",", ":"))) < 10240  # IAM's limit for a role's inline policies


def test_only_documented_statements_use_a_star_and_the_rest_stay_in_prod(prod_policy):
    for stmt in prod_policy["Statement"]:
        resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
        if stmt["Sid"] in STAR_SIDS:
            assert resources == ["*"]
            continue
        for arn in resources:
            assert "*" not in arn.split(":")[4], arn  # never a wildcard account
            assert "prod" in arn or arn.endswith(":catalog"), arn
            assert "dev" not in arn and "test" not in arn, arn


def test_pass_role_only_to_the_pipelines_roles_and_services(prod_policy):
    (pass_role,) = [s for s in prod_policy["Statement"] if s["Sid"] == "PassPipelineRoles"]
    assert all(r.startswith("arn:aws:iam::333333333333:role/fpac-prod-") for r in pass_role["Resource"])
    assert set(pass_role["Condition"]["StringEquals"]["iam:PassedToService"]) == {
        "lambda.amazonaws.com", "glue.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com"}
