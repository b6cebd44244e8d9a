"""Git events from Jenkins multibranch environment variables."""
from __future__ import annotations

import pytest

from deploy.delivery.errors import DeliveryError
from deploy.delivery.jenkins_env import event_from_jenkins_env
from deploy.delivery.routing import route_event

from .conftest import DEV_NEW, PROJECTS, TAG_COMMIT

BUILD = "https://jenkins.example/job/aws-pipelines/job/develop/12/"


def test_branch_build_is_a_push(repo_rules):
    event = event_from_jenkins_env({"BRANCH_NAME": "develop", "GIT_COMMIT": DEV_NEW, "BUILD_URL": BUILD})
    assert (event.kind, event.ref, event.commit, event.url, event.source) == ("push", "develop", DEV_NEW, BUILD, "jenkins")
    assert route_event(event, repo_rules, PROJECTS).environment == "dev"


def test_tag_build_is_a_tag_even_though_branch_name_is_set(repo_rules):
    # Multibranch sets BRANCH_NAME to the tag name for tag builds.
    event = event_from_jenkins_env({"BRANCH_NAME": "v2.1.0", "TAG_NAME": "v2.1.0", "GIT_COMMIT": TAG_COMMIT})
    assert (event.kind, event.ref, event.commit) == ("tag", "v2.1.0", TAG_COMMIT)
    decision = route_event(event, repo_rules, PROJECTS, branch_check=lambda commit, branch: True)
    assert (decision.environment, decision.approval_required) == ("prod", True)


def test_pull_request_build_is_an_open_pull_request(repo_rules):
    env = {"BRANCH_NAME": "PR-42", "CHANGE_ID": "42", "CHANGE_TARGET": "main", "CHANGE_BRANCH": "feature/payments",
           "GIT_COMMIT": DEV_NEW}
    event = event_from_jenkins_env(env)
    assert (event.kind, event.ref, event.target, event.pull_request_id) == ("pull_request", "feature/payments", "main", "42")
    decision = route_event(event, repo_rules, PROJECTS)
    assert decision.deploy is False
    assert decision.reason == "nothing to deploy for pull request #42 feature/payments -> main: no routing rule matches"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BRANCH_NAME": "develop"}, "GIT_COMMIT is not set"),
        ({"BRANCH_NAME": "develop", "GIT_COMMIT": "  "}, "GIT_COMMIT is not set"),
        ({"GIT_COMMIT": DEV_NEW}, "none of TAG_NAME, CHANGE_ID, BRANCH_NAME is set"),
        ({"CHANGE_ID": "4", "CHANGE_BRANCH": "x", "GIT_COMMIT": DEV_NEW}, "CHANGE_TARGET is not set although CHANGE_ID=4"),
        ({"CHANGE_ID": "4", "CHANGE_TARGET": "main", "GIT_COMMIT": DEV_NEW}, "CHANGE_BRANCH is not set"),
    ],
)
def test_missing_variables_are_named(env, message):
    with pytest.raises(DeliveryError, match=message):
        event_from_jenkins_env(env)
