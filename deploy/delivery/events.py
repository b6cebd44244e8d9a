"""The one shape every source is turned into: a git event (push, tag, pull request, merge).

Jenkins variables and Bitbucket Cloud/Server payloads all end up here, so routing is written
once and never looks at a payload.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from .errors import DeliveryError

EventKind = Literal["push", "tag", "pull_request", "pull_request_merged"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
PR_KINDS = ("pull_request", "pull_request_merged")


@dataclass(frozen=True)
class GitEvent:
    """A change of one git ref.

    ``ref`` is the branch for a push, the tag name for a tag, and the *source* branch for a pull
    request (whose ``target`` is the branch it merges into). ``commit`` is None when the ref was
    deleted. ``commit_is_peeled`` is False when the hash may be an annotated tag object rather
    than the commit (Bitbucket Server sends the tag object's hash); git peels it later.
    """

    kind: EventKind
    ref: str
    commit: str | None
    source: str
    target: str | None = None
    previous: str | None = None
    created: bool = False
    deleted: bool = False
    commit_is_peeled: bool = True
    pull_request_id: str | None = None
    url: str | None = None

    def describe(self) -> str:
        """A short human phrase, e.g. ``push to develop`` or ``pull request #5 feature/x -> main merged``."""
        if self.kind == "push":
            what = f"branch {self.ref}"
            if self.deleted:
                return f"deletion of {what}"
            return f"creation of {what}" if self.created else f"push to {self.ref}"
        if self.kind == "tag":
            return f"deletion of tag {self.ref}" if self.deleted else f"tag {self.ref}"
        number = f" #{self.pull_request_id}" if self.pull_request_id else ""
        state = " merged" if self.kind == "pull_request_merged" else ""
        return f"pull request{number} {self.ref} -> {self.target}{state}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def manual_event(kind: str, ref: str, commit: str, target: str | None = None, source: str = "manual") -> GitEvent:
    """An event given explicitly (the parameters a webhook-triggered Jenkins build receives)."""
    if kind not in EVENT_KINDS:
        raise DeliveryError(f"--event: unknown event kind '{kind}' (expected one of: {', '.join(EVENT_KINDS)})")
    if kind in PR_KINDS and not target:
        raise DeliveryError(f"--target: required for a {kind} event (the branch the pull request merges into)")
    if not ref:
        raise DeliveryError("--ref: required (branch, tag or pull request source branch)")
    if not commit:
        raise DeliveryError("--commit: required")
    return GitEvent(kind=kind, ref=ref, commit=commit, target=target if kind in PR_KINDS else None, source=source)  # type: ignore[arg-type]
