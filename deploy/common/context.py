"""What a project's ``build_specs`` receives: config, its settings, and helpers for names, ARNs, tags."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import EnvironmentConfig
from .naming import Arns, resource_name
from .regions import render, role_name
from .tagging import resource_tags


@dataclass(frozen=True)
class ProjectContext:
    project: str
    config: EnvironmentConfig
    settings: Any  # the project's own validated Settings model
    region: str
    commit: str
    project_dir: Path

    @property
    def environment(self) -> str:
        return self.config.environment

    @property
    def arns(self) -> Arns:
        return Arns(self.region, self.config.account_id)

    def name(self, component: str) -> str:
        """``{project}-{env}-{component}``: unique per environment, so dev and prod never collide."""
        return resource_name(self.project, self.environment, component)

    def bucket(self, name_template: str) -> str:
        """A bucket name from the config, ``{region}`` replaced by the region deployed to (bucket names are global)."""
        return render(name_template, self.region)

    @property
    def artifact_bucket(self) -> str:
        """The environment's artifact bucket in this region (it holds the record and the lock, so they are per region)."""
        return self.bucket(self.config.artifact_bucket)

    def role_name(self, component: str) -> str:
        """``{project}-{env}-{component}-role``, plus ``-{region}`` when the config allows several regions
        (IAM role names are global in the account; single-region names stay as they were)."""
        return role_name(f"{self.name(component)}-role", self.region, self.config.regions)

    def tags(self, component: str) -> dict[str, str]:
        return resource_tags(self.project, self.environment, component, dict(self.config.tags), self.commit)


@dataclass(frozen=True)
class RunTarget:
    """How ``deploy.py run`` feeds a project: the file goes to ``s3://bucket/prefix``, which starts the state machine."""

    bucket: str
    incoming_prefix: str
    state_machine_arn: str
    report_states: tuple[str, ...] = ()  # states whose output is the run's report (e.g. the LogResults tasks)
