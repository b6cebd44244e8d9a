"""Bitbucket webhook bodies (Cloud and Server/Data Center) -> git events. Pure: no I/O.

The ``X-Event-Key`` header says which format the body has. Cloud: ``repo:push`` (several changes
per push; a created ref has ``old: null``, a deleted one ``new: null``), ``pullrequest:created``,
``pullrequest:updated``, ``pullrequest:fulfilled`` (merged). Server/DC: ``repo:refs_changed``
(``changes[].type`` ADD / UPDATE / DELETE; for an annotated tag ``toHash`` is the tag object and
the commit is ``toCommit``), ``pr:opened``, ``pr:from_ref_updated``, ``pr:merged``, and
``diagnostics:ping`` ("Test connection"). Any other key is not ours to route: ``ignored``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import PayloadError
from .events import GitEvent

PING_EVENTS = frozenset({"diagnostics:ping"})
CLOUD = "bitbucket-cloud"
SERVER = "bitbucket-server"
_ZERO_HASH = "0" * 40


@dataclass(frozen=True)
class Delivery:
    """What one webhook delivery means: a ping, an event we ignore, or git events to route."""

    event_key: str
    status: Literal["ping", "ignored", "events"]
    events: tuple[GitEvent, ...] = field(default=())


def parse_delivery(event_key: str, payload: Any) -> Delivery:
    """Parse a webhook body; PayloadError names the missing field of a known event."""
    if event_key in PING_EVENTS:
        return Delivery(event_key, "ping")
    parser = _PARSERS.get(event_key)
    if parser is None:
        return Delivery(event_key, "ignored")
    if not isinstance(payload, dict):
        raise PayloadError(f"{event_key} payload: the top level must be a JSON object")
    try:
        return Delivery(event_key, "events", tuple(parser(payload)))
    except PayloadError as exc:
        raise PayloadError(f"{event_key} payload: {exc}") from None


def is_known_event(event_key: str) -> bool:
    return event_key in PING_EVENTS or event_key in _PARSERS


def _get(obj: Any, path: str, at: str = "", *, optional: bool = False) -> Any:
    """``obj[a][b]...`` for ``path`` 'a.b'; PayloadError naming ``at.path`` if absent or null."""
    current = obj
    for part in path.split("."):
        if isinstance(current, dict) and current.get(part) is not None:
            current = current[part]
        elif optional:
            return None
        else:
            raise PayloadError(f"{at + '.' if at else ''}{path} is missing")
    return current


def _optional_text(obj: Any, path: str) -> str | None:
    """``obj[a][b]...`` when it is a non-empty string, else None (an optional field of another type is ignored)."""
    value = _get(obj, path, optional=True)
    return value if isinstance(value, str) and value else None


def _text(obj: Any, path: str, at: str = "") -> str:
    value = _get(obj, path, at)
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
        raise PayloadError(f"{at + '.' if at else ''}{path} must be a non-empty string")
    return str(value)


def _list(obj: Any, path: str) -> list[Any]:
    value = _get(obj, path)
    if not isinstance(value, list):
        raise PayloadError(f"{path} must be a list")
    return value


# ---------------------------------------------------------------- Bitbucket Cloud

def _cloud_ref_kind(ref_type: str, at: str) -> Literal["push", "tag"]:
    if ref_type in ("branch", "named_branch"):
        return "push"
    if ref_type in ("tag", "annotated_tag"):
        return "tag"
    raise PayloadError(f"{at}.type: unsupported ref type '{ref_type}'")


def _cloud_push(payload: dict[str, Any]) -> list[GitEvent]:
    events = []
    for index, change in enumerate(_list(payload, "push.changes")):
        at = f"push.changes[{index}]"
        old, new = _get(change, "old", at, optional=True), _get(change, "new", at, optional=True)
        previous = _optional_text(old, "target.hash") if old else None
        if new is None:
            if old is None:
                raise PayloadError(f"{at}: both 'old' and 'new' are null")
            kind = _cloud_ref_kind(_text(old, "type", f"{at}.old"), f"{at}.old")
            name = _text(old, "name", f"{at}.old")
            events.append(GitEvent(kind=kind, ref=name, commit=None, deleted=True, previous=previous, source=CLOUD))
            continue
        kind = _cloud_ref_kind(_text(new, "type", f"{at}.new"), f"{at}.new")
        events.append(
            GitEvent(
                kind=kind,
                ref=_text(new, "name", f"{at}.new"),
                commit=_text(new, "target.hash", f"{at}.new"),  # Cloud's target is the commit, tags included
                previous=previous,
                created=old is None,
                source=CLOUD,
            )
        )
    return events


def _cloud_pull_request(payload: dict[str, Any], merged: bool) -> list[GitEvent]:
    pr = _get(payload, "pullrequest")
    commit = _text(pr, "merge_commit.hash", "pullrequest") if merged else _text(pr, "source.commit.hash", "pullrequest")
    return [
        GitEvent(
            kind="pull_request_merged" if merged else "pull_request",
            ref=_text(pr, "source.branch.name", "pullrequest"),
            target=_text(pr, "destination.branch.name", "pullrequest"),
            commit=commit,
            pull_request_id=str(pr["id"]) if pr.get("id") is not None else None,
            url=_optional_text(pr, "links.html.href"),
            source=CLOUD,
        )
    ]


# ---------------------------------------------------------------- Bitbucket Server / Data Center

def _server_refs_changed(payload: dict[str, Any]) -> list[GitEvent]:
    changes = _list(payload, "changes")
    commits = payload.get("commits")
    known_commits = {c["id"] for c in commits if isinstance(c, dict) and isinstance(c.get("id"), str)} if isinstance(commits, list) else set()
    to_commit = _optional_text(payload, "toCommit.id")
    if to_commit:
        known_commits.add(to_commit)
    events = []
    for index, change in enumerate(changes):
        at = f"changes[{index}]"
        ref_type = _text(change, "ref.type", at)
        if ref_type not in ("BRANCH", "TAG"):
            raise PayloadError(f"{at}.ref.type: unsupported ref type '{ref_type}'")
        kind: Literal["push", "tag"] = "push" if ref_type == "BRANCH" else "tag"
        name = _text(change, "ref.displayId", at)
        change_type = _text(change, "type", at)
        from_hash = _optional_text(change, "fromHash")
        previous = from_hash if from_hash and from_hash != _ZERO_HASH else None
        if change_type == "DELETE":
            events.append(GitEvent(kind=kind, ref=name, commit=None, deleted=True, previous=previous, source=SERVER))
            continue
        if change_type not in ("ADD", "UPDATE"):
            raise PayloadError(f"{at}.type: unsupported change type '{change_type}'")
        commit, peeled = _text(change, "toHash", at), True
        if kind == "tag" and commit not in known_commits:
            # An annotated tag: toHash is the tag object. With one change, toCommit is its commit.
            if len(changes) == 1 and to_commit:
                commit = to_commit
            else:
                peeled = False
        events.append(
            GitEvent(
                kind=kind,
                ref=name,
                commit=commit,
                commit_is_peeled=peeled,
                previous=previous if change_type == "UPDATE" else None,
                created=change_type == "ADD",
                source=SERVER,
            )
        )
    return events


def _server_pull_request(payload: dict[str, Any], merged: bool) -> list[GitEvent]:
    pr = _get(payload, "pullRequest")
    if merged:
        # A fast-forward merge creates no merge commit: the target then points at the source head.
        commit = _optional_text(pr, "properties.mergeCommit.id") or _text(pr, "fromRef.latestCommit", "pullRequest")
    else:
        commit = _text(pr, "fromRef.latestCommit", "pullRequest")
    links = _get(pr, "links.self", optional=True)
    url = _optional_text(links[0], "href") if isinstance(links, list) and links else None
    return [
        GitEvent(
            kind="pull_request_merged" if merged else "pull_request",
            ref=_text(pr, "fromRef.displayId", "pullRequest"),
            target=_text(pr, "toRef.displayId", "pullRequest"),
            commit=commit,
            pull_request_id=str(pr["id"]) if pr.get("id") is not None else None,
            url=url,
            source=SERVER,
        )
    ]


_PARSERS: dict[str, Callable[[dict[str, Any]], list[GitEvent]]] = {
    "repo:push": _cloud_push,
    "pullrequest:created": lambda p: _cloud_pull_request(p, merged=False),
    "pullrequest:updated": lambda p: _cloud_pull_request(p, merged=False),
    "pullrequest:fulfilled": lambda p: _cloud_pull_request(p, merged=True),
    "repo:refs_changed": _server_refs_changed,
    "pr:opened": lambda p: _server_pull_request(p, merged=False),
    "pr:from_ref_updated": lambda p: _server_pull_request(p, merged=False),
    "pr:merged": lambda p: _server_pull_request(p, merged=True),
}
