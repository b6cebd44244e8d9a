"""Git event from a Jenkins multibranch build's environment variables.

Multibranch sets ``BRANCH_NAME`` for every build; ``TAG_NAME`` for a tag build; ``CHANGE_ID``,
``CHANGE_TARGET`` and ``CHANGE_BRANCH`` for a pull request build (which builds an *open* pull
request: a merge is seen by Jenkins as a push to the target branch). ``GIT_COMMIT`` is set by
``checkout scm``; ``BUILD_URL`` is kept for the record.
"""
from __future__ import annotations

from collections.abc import Mapping

from .errors import DeliveryError
from .events import GitEvent


def event_from_jenkins_env(env: Mapping[str, str]) -> GitEvent:
    """The git event of this build; DeliveryError naming the missing variable otherwise."""

    def get(name: str) -> str | None:
        value = (env.get(name) or "").strip()
        return value or None

    commit = get("GIT_COMMIT")
    if commit is None:
        raise DeliveryError("GIT_COMMIT is not set: run 'route' after 'checkout scm' in a Jenkins build")
    common = {"commit": commit, "source": "jenkins", "url": get("BUILD_URL")}
    if tag := get("TAG_NAME"):
        return GitEvent(kind="tag", ref=tag, **common)
    if change := get("CHANGE_ID"):
        target = get("CHANGE_TARGET")
        source_branch = get("CHANGE_BRANCH")
        if target is None or source_branch is None:
            missing = "CHANGE_TARGET" if target is None else "CHANGE_BRANCH"
            raise DeliveryError(f"{missing} is not set although CHANGE_ID={change} (a pull request build)")
        return GitEvent(kind="pull_request", ref=source_branch, target=target, pull_request_id=change, **common)
    if branch := get("BRANCH_NAME"):
        return GitEvent(kind="push", ref=branch, **common)
    raise DeliveryError("not a Jenkins multibranch build: none of TAG_NAME, CHANGE_ID, BRANCH_NAME is set")
