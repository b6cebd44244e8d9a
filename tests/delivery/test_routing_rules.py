"""Pure routing: events + rules -> decisions (first match wins, globs, approvals, deploy once)."""
from __future__ import annotations

import pytest

from deploy.delivery.events import GitEvent, manual_event
from deploy.delivery.errors import DeliveryError
from deploy.delivery.routing import deploy_once, limit_to_changed, projects_touched, route_event, route_events
from deploy.common.errors import ConfigError

from .conftest import MERGE, PROJECTS, rules_from

C1 = "1111111111111111111111111111111111111111"
C2 = "2222222222222222222222222222222222222222"


def push(branch: str, commit: str = C1, **kw) -> GitEvent:
    return GitEvent(kind="push", ref=branch, commit=commit, source="test", **kw)


def tag(name: str, commit: str = C1, **kw) -> GitEvent:
    return GitEvent(kind="tag", ref=name, commit=commit, source="test", **kw)


def merged(source: str, target: str, commit: str = C1) -> GitEvent:
    return GitEvent(kind="pull_request_merged", ref=source, target=target, commit=commit, source="test", pull_request_id="7")


def opened(source: str, target: str, commit: str = C1) -> GitEvent:
    return GitEvent(kind="pull_request", ref=source, target=target, commit=commit, source="test", pull_request_id="7")


@pytest.mark.parametrize(
    ("event", "environment", "action", "approval", "smoke"),
    [
        (push("develop"), "dev", "deploy", False, True),
        (push("release/2.1"), "test", "deploy", False, True),
        (push("release/2.1/hotfix"), "test", "deploy", False, True),  # '*' spans '/'
        (merged("feature/x", "main"), "prod", "plan", False, False),
        (push("main"), "prod", "plan", False, False),  # how Jenkins sees a merge
        (tag("v2.1.0"), "prod", "deploy", True, False),
    ],
)
def test_checked_in_rules_route_each_kind(repo_rules, event, environment, action, approval, smoke):
    decision = route_event(event, repo_rules, PROJECTS, branch_check=lambda commit, branch: branch == "main")
    assert decision.deploy is True
    assert (decision.environment, decision.action, decision.approval_required, decision.smoke_run) == (
        environment, action, approval, smoke)
    assert decision.config == f"config/{environment}.json"
    assert decision.region == "us-east-2"
    assert decision.projects == PROJECTS
    assert decision.commit == C1
    assert f"rule '{decision.rule}'" in decision.reason and event.describe() in decision.reason


@pytest.mark.parametrize(
    "event",
    [push("feature/payments"), push("developer"), push("Develop"), opened("feature/x", "main"), merged("feature/x", "develop"),
     tag("release-2"), tag("vnext")],
)
def test_no_matching_rule_deploys_nothing_and_says_so(repo_rules, event):
    decision = route_event(event, repo_rules, PROJECTS, branch_check=lambda c, b: True)
    assert decision.deploy is False
    assert decision.environment is None and decision.projects == ()
    assert decision.reason == f"nothing to deploy for {event.describe()}: no routing rule matches"


@pytest.mark.parametrize("event", [push("develop", commit=None, deleted=True), tag("v2.0.0", commit=None, deleted=True)])
def test_a_deletion_never_deploys_even_when_a_rule_matches_its_name(repo_rules, event):
    decision = route_event(event, repo_rules, PROJECTS, branch_check=lambda c, b: True)
    assert decision.deploy is False
    assert decision.reason.endswith("a deletion never deploys")
    assert decision.reason.startswith("nothing to deploy for deletion of ")


def test_tag_not_on_the_rules_branch_falls_through_with_a_note(repo_rules):
    asked = []
    decision = route_event(tag("v3.0.0", C2), repo_rules, PROJECTS,
                           branch_check=lambda commit, branch: asked.append((commit, branch)) or False)
    assert asked == [(C2, "main")]
    assert decision.deploy is False
    assert any("is not on branch 'main'" in note for note in decision.notes)


def test_without_git_the_tag_branch_check_is_left_to_the_pipeline(repo_rules):
    decision = route_event(tag("v3.0.0"), repo_rules, PROJECTS, branch_check=None)
    assert decision.deploy is True and decision.environment == "prod"
    assert any("the pipeline checks it" in note for note in decision.notes)


def test_a_git_error_in_the_branch_check_propagates(repo_rules):
    def broken(commit: str, branch: str) -> bool:
        raise DeliveryError("git: cannot check")

    with pytest.raises(DeliveryError):
        route_event(tag("v3.0.0"), repo_rules, PROJECTS, branch_check=broken)


RULES = {
    "version": 1,
    "environments": {
        "dev": {"config": "config/dev.json", "region": "us-east-2", "smoke_run": True},
        "prod": {"config": "config/prod.json", "region": "us-west-2"},
    },
    "rules": [
        {"name": "hotfix-prod", "event": "pull_request_merged", "branch": "main", "source_branch": "hotfix/*",
         "environment": "prod", "approval_required": True, "projects": ["sales"]},
        {"name": "any-merge-dev", "event": ["pull_request_merged", "push"], "branch": "ma?n", "environment": "dev"},
        {"name": "never-reached", "event": "push", "branch": "main", "environment": "prod"},
        {"name": "plan-dev", "event": "push", "branch": "[ab]*", "environment": "dev", "action": "plan"},
    ],
}


def test_first_match_wins_and_source_branch_and_projects_narrow():
    rules = rules_from(RULES)
    hotfix = route_event(merged("hotfix/fix-1", "main"), rules, PROJECTS)
    assert (hotfix.rule, hotfix.environment, hotfix.projects, hotfix.approval_required) == (
        "hotfix-prod", "prod", ("sales",), True)
    assert hotfix.region == "us-west-2"
    other = route_event(merged("feature/x", "main"), rules, PROJECTS)
    assert (other.rule, other.environment, other.projects, other.approval_required) == ("any-merge-dev", "dev", PROJECTS, False)
    assert route_event(push("main"), rules, PROJECTS).rule == "any-merge-dev"
    assert route_event(push("bugfix"), rules, PROJECTS).rule == "plan-dev"
    planned = route_event(push("alpha"), rules, PROJECTS)
    assert planned.action == "plan" and planned.smoke_run is False and planned.approval_required is False


def test_a_rule_naming_an_unknown_project_is_a_config_error():
    rules = rules_from(RULES)
    with pytest.raises(ConfigError, match=r"routing rule 'hotfix-prod': projects: unknown project\(s\) sales"):
        route_event(merged("hotfix/x", "main"), rules, ("fpac",))


def test_no_projects_at_all_means_nothing_to_deploy(repo_rules):
    decision = route_event(push("develop"), repo_rules, ())
    assert decision.deploy is False and "there is no project" in decision.reason


def test_unpeeled_commit_gets_a_note(repo_rules):
    decision = route_event(tag("v1.0.0", commit_is_peeled=False), repo_rules, PROJECTS)
    assert any("annotated tag object" in n for n in decision.notes)


def test_a_merge_seen_twice_deploys_once_even_with_an_abbreviated_hash(repo_rules):
    decisions = route_events([merged("feature/x", "main", MERGE[:12]), push("main", MERGE)], repo_rules, PROJECTS)
    assert [d.deploy for d in decisions] == [True, False]
    assert decisions[1].reason.startswith("nothing more to deploy for push to main: same deployment as pull request #7")
    # a different commit, or another environment, is another deployment
    again = route_events([merged("feature/x", "main", MERGE), push("main", C2), push("develop", MERGE)], repo_rules, PROJECTS)
    assert [d.deploy for d in again] == [True, True, True]


def test_deploy_once_keeps_non_deploying_decisions_untouched(repo_rules):
    nothing = route_event(push("feature/x"), repo_rules, PROJECTS)
    assert deploy_once([nothing, nothing]) == [nothing, nothing]


def test_projects_touched_matches_whole_folder_names_only():
    folders = {"fpac": "deploy/projects/fpac_pipeline", "sales": "deploy/projects/sales_pipeline"}
    paths = ["deploy/projects/fpac_pipeline/glue/landingFiles/landing_job.py", "deploy/projects/fpac_pipeline_old/x.py",
             "README.md", "deploy/common/plan.py"]
    assert projects_touched(paths, folders) == ["fpac"]
    assert projects_touched([], folders) == []
    assert projects_touched(["deploy/projects/sales_pipeline/deploy.py", "deploy/projects/fpac_pipeline/deploy.py"], folders) == [
        "fpac", "sales"]


def test_limit_to_changed_keeps_changed_projects_or_deploys_nothing(repo_rules):
    decision = route_event(push("develop"), repo_rules, PROJECTS)
    narrowed = limit_to_changed(decision, ["sales"], "abc123")
    assert narrowed.deploy and narrowed.projects == ("sales",)
    assert narrowed.notes == ("unchanged since abc123, not deployed: fpac",)
    none = limit_to_changed(decision, [], "abc123")
    assert none.deploy is False and none.projects == ()
    assert none.reason == "nothing to deploy for push to develop: no project folder changed since abc123"


def test_manual_event_validates_its_parameters():
    assert manual_event("pull_request_merged", "feature/x", C1, "main").target == "main"
    assert manual_event("push", "develop", C1, "ignored").target is None
    for args, field in [(("merge", "x", C1), "--event"), (("pull_request", "x", C1), "--target"),
                        (("push", "", C1), "--ref"), (("push", "x", ""), "--commit")]:
        with pytest.raises(DeliveryError, match=field):
            manual_event(*args)


def test_decision_json_shape(repo_rules):
    data = route_event(push("develop"), repo_rules, PROJECTS).to_dict()
    assert data["commit"] == C1 and data["projects"] == list(PROJECTS) and data["event"]["ref"] == "develop"
    assert set(data) >= {"deploy", "reason", "rule", "environment", "action", "config", "region", "approval_required",
                         "smoke_run", "notes"}


def test_projects_may_be_asked_per_commit_and_only_when_a_rule_matches(repo_rules):
    asked = []

    def projects_of(commit: str) -> tuple[str, ...]:
        asked.append(commit)
        return ("sales",)

    assert route_event(push("feature/x", C2), repo_rules, projects_of).deploy is False
    assert asked == []
    decision = route_event(push("develop", C2), repo_rules, projects_of)
    assert (decision.projects, asked) == (("sales",), [C2])
