"""Tags: how the deployer recognises what it owns.

Ownership tags (project, environment, component) decide what may be deleted. Provenance tags
(deployer version, git commit) are written whenever a resource is created or changed, but are
left out of the diff: a new commit that changes nothing else must not rewrite every resource.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .. import __version__

PROJECT_TAG = "deployer:project"
ENVIRONMENT_TAG = "deployer:environment"
COMPONENT_TAG = "deployer:component"
VERSION_TAG = "deployer:version"
COMMIT_TAG = "deployer:git-commit"
PROVENANCE_TAGS = frozenset({VERSION_TAG, COMMIT_TAG})


def git_commit(repo: Path) -> str:
    """The commit being deployed: Jenkins' GIT_COMMIT, else ``git rev-parse``, else 'unknown'."""
    if os.environ.get("GIT_COMMIT"):
        return os.environ["GIT_COMMIT"][:40]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def resource_tags(project: str, environment: str, component: str, extra: dict[str, str], commit: str) -> dict[str, str]:
    return {
        **extra,
        PROJECT_TAG: project,
        ENVIRONMENT_TAG: environment,
        COMPONENT_TAG: component,
        VERSION_TAG: __version__,
        COMMIT_TAG: commit,
    }


def comparable_tags(tags: dict[str, str] | None) -> dict[str, str]:
    """Tags as the diff sees them: provenance tags and AWS's own (aws:*) left out."""
    return {k: v for k, v in (tags or {}).items() if k not in PROVENANCE_TAGS and not k.startswith("aws:")}


def is_owned_by(tags: dict[str, str] | None, project: str, environment: str) -> bool:
    tags = tags or {}
    return tags.get(PROJECT_TAG) == project and tags.get(ENVIRONMENT_TAG) == environment
