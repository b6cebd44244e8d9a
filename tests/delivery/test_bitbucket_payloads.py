"""Bitbucket Cloud and Server/DC webhook bodies -> git events -> decisions."""
from __future__ import annotations

import copy
import json

import pytest

from deploy.delivery.bitbucket import parse_delivery
from deploy.delivery.errors import PayloadError
from deploy.delivery.routing import route_events

from .conftest import (DEV_NEW, DEV_OLD, MAIN_OLD, MERGE, PR_HEAD, PROJECTS, REL, SHARED_FIXTURES, TAG_COMMIT, TAG_OBJECT,
                       fixture_json)


def events_of(key: str, name: str):
    delivery = parse_delivery(key, fixture_json(name))
    assert delivery.status == "events"
    return list(delivery.events)


def summary(events):
    return [(e.kind, e.ref, e.commit, e.deleted, e.created) for e in events]


# ------------------------------------------------------------------ Cloud

def test_cloud_push_to_develop(repo_rules):
    events = events_of("repo:push", "cloud/repo_push_develop.json")
    assert summary(events) == [("push", "develop", DEV_NEW, False, False)]
    assert events[0].previous == DEV_OLD and events[0].source == "bitbucket-cloud"
    [decision] = route_events(events, repo_rules, PROJECTS)
    assert (decision.deploy, decision.environment, decision.commit) == (True, "dev", DEV_NEW)


def test_cloud_push_with_several_changes_created_and_deleted_refs(repo_rules):
    events = events_of("repo:push", "cloud/repo_push_multi.json")
    assert summary(events) == [
        ("push", "release/2.1", REL, False, True),
        ("push", "feature/old-crawler", None, True, False),
        ("tag", "v2.1.0", TAG_COMMIT, False, True),  # annotated: Cloud's target is already the commit
        ("tag", "v0.9.0", None, True, False),
    ]
    decisions = route_events(events, repo_rules, PROJECTS, branch_check=lambda commit, branch: True)
    assert [(d.deploy, d.environment) for d in decisions] == [(True, "test"), (False, None), (True, "prod"), (False, None)]
    assert decisions[1].reason == "nothing to deploy for deletion of branch feature/old-crawler: a deletion never deploys"
    assert decisions[3].reason == "nothing to deploy for deletion of tag v0.9.0: a deletion never deploys"
    assert decisions[2].approval_required is True


def test_cloud_push_without_changes_yields_no_event():
    assert events_of("repo:push", "cloud/repo_push_no_changes.json") == []


def test_cloud_pull_request_merged_and_opened(repo_rules):
    [merged] = events_of("pullrequest:fulfilled", "cloud/pullrequest_fulfilled.json")
    assert (merged.kind, merged.ref, merged.target, merged.commit, merged.pull_request_id) == (
        "pull_request_merged", "feature/payments-rules", "main", MERGE[:12], "42")
    assert merged.url == "https://bitbucket.org/acme-data/aws-pipelines/pull-requests/42"
    [decision] = route_events([merged], repo_rules, PROJECTS)
    assert (decision.environment, decision.action) == ("prod", "plan")
    [opened] = events_of("pullrequest:created", "cloud/pullrequest_created.json")
    assert (opened.kind, opened.commit) == ("pull_request", PR_HEAD[:12])
    assert route_events([opened], repo_rules, PROJECTS)[0].deploy is False


def test_cloud_merge_and_its_push_are_one_deployment(repo_rules):
    events = events_of("pullrequest:fulfilled", "cloud/pullrequest_fulfilled.json") + events_of(
        "repo:push", "cloud/repo_push_main_merge.json")
    assert events[1].previous == MAIN_OLD
    assert [d.deploy for d in route_events(events, repo_rules, PROJECTS)] == [True, False]


# ------------------------------------------------------------------ Server / Data Center

def test_server_push_to_develop(repo_rules):
    events = events_of("repo:refs_changed", "server/refs_changed_develop.json")
    assert summary(events) == [("push", "develop", DEV_NEW, False, False)]
    assert events[0].previous == DEV_OLD and events[0].source == "bitbucket-server"
    assert route_events(events, repo_rules, PROJECTS)[0].environment == "dev"


def test_server_refs_changed_with_add_delete_and_an_annotated_tag(repo_rules):
    events = events_of("repo:refs_changed", "server/refs_changed_multi.json")
    assert summary(events) == [
        ("push", "release/2.1", REL, False, True),
        ("push", "feature/old-crawler", None, True, False),
        ("tag", "v2.1.0", TAG_OBJECT, False, True),
        ("tag", "v0.9.0", None, True, False),
    ]
    assert events[0].previous is None  # ADD: fromHash is all zeros
    # With several changes the payload cannot say which commit the tag object points to: git peels it later.
    assert [e.commit_is_peeled for e in events] == [True, True, False, True]
    decisions = route_events(events, repo_rules, PROJECTS)
    assert [d.deploy for d in decisions] == [True, False, True, False]
    assert any("annotated tag object" in n for n in decisions[2].notes)


def test_server_annotated_tag_alone_uses_to_commit(repo_rules):
    [event] = events_of("repo:refs_changed", "server/refs_changed_annotated_tag.json")
    assert (event.kind, event.ref, event.commit, event.commit_is_peeled) == ("tag", "v2.1.0", TAG_COMMIT, True)
    [decision] = route_events([event], repo_rules, PROJECTS, branch_check=lambda commit, branch: commit == TAG_COMMIT)
    assert (decision.deploy, decision.environment, decision.commit) == (True, "prod", TAG_COMMIT)


def test_server_lightweight_tag_is_its_commit():
    body = fixture_json("server/refs_changed_annotated_tag.json")
    body["changes"][0]["toHash"] = TAG_COMMIT
    [event] = parse_delivery("repo:refs_changed", body).events
    assert (event.commit, event.commit_is_peeled) == (TAG_COMMIT, True)


def test_server_old_payload_without_to_commit_leaves_an_annotated_tag_unpeeled():
    body = fixture_json("server/refs_changed_annotated_tag.json")
    body.pop("toCommit")
    body.pop("commits", None)
    [event] = parse_delivery("repo:refs_changed", body).events
    assert (event.commit, event.commit_is_peeled) == (TAG_OBJECT, False)


def test_server_pull_request_merged_and_opened(repo_rules):
    [merged] = events_of("pr:merged", "server/pr_merged.json")
    assert (merged.kind, merged.ref, merged.target, merged.commit, merged.pull_request_id) == (
        "pull_request_merged", "feature/payments-rules", "main", MERGE, "17")
    [opened] = events_of("pr:opened", "server/pr_opened.json")
    assert (opened.kind, opened.commit) == ("pull_request", PR_HEAD)
    events = [merged] + events_of("repo:refs_changed", "server/refs_changed_main_merge.json")
    assert [d.deploy for d in route_events(events, repo_rules, PROJECTS)] == [True, False]


def test_server_fast_forward_merge_without_merge_commit_uses_the_source_head():
    body = fixture_json("server/pr_merged.json")
    del body["pullRequest"]["properties"]
    [event] = parse_delivery("pr:merged", body).events
    assert event.commit == PR_HEAD


def test_ping_and_unrouted_events():
    assert parse_delivery("diagnostics:ping", fixture_json("server/diagnostics_ping.json")).status == "ping"
    for key in ("repo:fork", "pullrequest:rejected", "pr:declined", "issue:created", "repo:comment_added"):
        assert parse_delivery(key, {"anything": 1}).status == "ignored"


@pytest.mark.parametrize(
    ("key", "name", "breaks", "message"),
    [
        ("repo:push", "cloud/repo_push_develop.json", lambda b: b.pop("push"), "repo:push payload: push.changes is missing"),
        ("repo:push", "cloud/repo_push_develop.json", lambda b: b["push"]["changes"][0]["new"]["target"].pop("hash"),
         "repo:push payload: push.changes[0].new.target.hash is missing"),
        ("repo:push", "cloud/repo_push_develop.json", lambda b: b["push"]["changes"][0].update(old=None, new=None),
         "push.changes[0]: both 'old' and 'new' are null"),
        ("repo:push", "cloud/repo_push_develop.json", lambda b: b["push"]["changes"][0]["new"].update(type="bookmark"),
         "push.changes[0].new.type: unsupported ref type 'bookmark'"),
        ("pullrequest:fulfilled", "cloud/pullrequest_fulfilled.json", lambda b: b["pullrequest"].update(merge_commit=None),
         "pullrequest.merge_commit.hash is missing"),
        ("repo:refs_changed", "server/refs_changed_develop.json", lambda b: b.update(changes={}), "changes must be a list"),
        ("repo:refs_changed", "server/refs_changed_develop.json", lambda b: b["changes"][0].update(type="RENAME"),
         "changes[0].type: unsupported change type 'RENAME'"),
        ("pr:merged", "server/pr_merged.json", lambda b: b["pullRequest"]["toRef"].pop("displayId"),
         "pullRequest.toRef.displayId is missing"),
    ],
)
def test_a_known_event_missing_a_field_names_it(key, name, breaks, message):
    body = copy.deepcopy(fixture_json(name))
    breaks(body)
    with pytest.raises(PayloadError) as error:
        parse_delivery(key, body)
    assert message in str(error.value)


def test_a_known_event_whose_body_is_not_an_object():
    with pytest.raises(PayloadError, match="top level must be a JSON object"):
        parse_delivery("repo:push", [1, 2])


SHARED = {
    "cloud_repo_push__branch_updated.json": ("repo:push", [("push", "main", "e42fac24456e4a56f1b7f9358afc3070e3b7ddec")]),
    "cloud_repo_push__tag_created.json": ("repo:push", [("tag", "simple-tag", "7ef5981d59145c3ed300b1ab77b93907d33abe59")]),
    "cloud_pullrequest_fulfilled.json": ("pullrequest:fulfilled", [("pull_request_merged", "foo", "1986c2284946")]),
    "server_repo_refs_changed__branch_update.json": (
        "repo:refs_changed", [("push", "main", "9fdd7b96d3f5c276d0b9e0bf38c879eb112d889a")]),
    "server_pr_merged.json": ("pr:merged", [("pull_request_merged", "feature/wip", "cbf26be7bfc8394906abbd571498fb8d28888b58")]),
}


@pytest.mark.parametrize("name", sorted(p.name for p in SHARED_FIXTURES.glob("*.json")) if SHARED_FIXTURES.is_dir() else [])
def test_real_captured_payloads_parse(name):
    key, expected = SHARED[name]
    delivery = parse_delivery(key, json.loads((SHARED_FIXTURES / name).read_text()))
    assert [(e.kind, e.ref, e.commit) for e in delivery.events] == expected


# ------------------------------------------------------------------ malformed bodies

FUZZED = {"cloud/pullrequest_created.json": "pullrequest:created", "cloud/pullrequest_fulfilled.json": "pullrequest:fulfilled",
          "cloud/repo_push_multi.json": "repo:push", "server/refs_changed_multi.json": "repo:refs_changed",
          "server/refs_changed_annotated_tag.json": "repo:refs_changed", "server/pr_merged.json": "pr:merged",
          "server/pr_opened.json": "pr:opened"}


def _paths(obj, prefix=()):
    yield prefix
    children = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in children:
        yield from _paths(value, (*prefix, key))


def _replaced(data, path, value):
    if not path:
        return value
    data = copy.deepcopy(data)
    holder = data
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return data


@pytest.mark.parametrize("name", sorted(FUZZED))
def test_any_field_of_any_type_is_a_payload_error_or_routes_cleanly(repo_rules, name):
    """Every value of a real body, replaced by each JSON type in turn: parsing either raises
    PayloadError (the receiver's 400) or gives events that route and become string build parameters;
    never another exception (the receiver's 500)."""
    from deploy.delivery.jenkins_api import build_parameters

    data = fixture_json(name)
    cases = 0
    for path in list(_paths(data)):
        for value in (None, True, 0, 1.5, "", "x", [], [1], {}, {"a": 1}):
            cases += 1
            try:
                delivery = parse_delivery(FUZZED[name], _replaced(data, path, value))
            except PayloadError:
                continue
            for decision in route_events(delivery.events, repo_rules, PROJECTS):
                parameters = build_parameters(decision, "d")
                assert all(isinstance(v, str) for v in parameters.values()), (path, value, parameters)
    assert cases > 500
