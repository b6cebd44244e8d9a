"""What a project's ``build_specs`` receives: config, its settings, and helpers for names, ARNs, tags."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import EnvironmentConfig
from .naming import Arns, resource_name
from .regions import boundary_name, render, role_name
from .kinds.base import resource_key
from .kinds.iam_policy import ManagedPolicySpec
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

    @property
    def permissions_boundary_name(self) -> str | None:
        """The boundary the deployer creates and keeps; None when the config names an existing one."""
        if self.config.aws.permissions_boundary_arn:
            return None
        return boundary_name(self.environment, self.region, self.config.regions)

    @property
    def permissions_boundary_arn(self) -> str:
        """What every pipeline role gets as its ``permissions_boundary`` (``RoleSpec``)."""
        name = self.permissions_boundary_name
        return self.arns.policy(name) if name else str(self.config.aws.permissions_boundary_arn)

    @property
    def boundary_dependency(self) -> tuple[str, ...]:
        """``depends_on`` for a role: the boundary the deployer keeps must exist first (none when the config names one)."""
        name = self.permissions_boundary_name
        return (resource_key(ManagedPolicySpec.kind, name),) if name else ()

    def tags(self, component: str) -> dict[str, str]:
        return resource_tags(self.project, self.environment, component, dict(self.config.tags), self.commit)


@dataclass(frozen=True)
class RunTarget:
    """How ``deploy.py run`` feeds a project: the file goes to ``s3://bucket/prefix``, which starts the state machine."""

    bucket: str
    incoming_prefix: str
    state_machine_arn: str
    report_states: tuple[str, ...] = ()  # states whose output is the run's report (e.g. the LogResults tasks)
    record_prefix: str = ""  # where in ``bucket`` the run records a report points to live (the run policy reads only there)
