"""The routing rules file (``deploy/config/routing.json``): which git event deploys where.

A typed, validated model like the environment configs: unknown keys are errors and every error is
one line naming the file and the field. Rules are tried in order; the first match wins; no match
means nothing is deployed. Patterns are shell-style globs (``fnmatch``): ``*`` matches any run of
characters including ``/``, ``?`` one character, ``[abc]`` a set.

The JSON Schema published next to it (``routing.schema.json``) is generated from this model:
``python -m deploy.delivery.rules > deploy/config/routing.schema.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from ..common.config import AwsRegion, StrictModel, format_validation_error, read_json_file
from ..common.errors import ConfigError
from .events import PR_KINDS, EventKind

DEPLOY_DIR = Path(__file__).resolve().parents[1]
DEFAULT_RULES_PATH = DEPLOY_DIR / "config" / "routing.json"
SCHEMA_PATH = DEPLOY_DIR / "config" / "routing.schema.json"

Glob = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$", examples=["release/*", "v*"])]
EnvName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,9}$")]


class EnvironmentTarget(StrictModel):
    """Where an environment is deployed and what its pipeline run may do."""

    config: str = Field(
        ...,
        pattern=r"^config/[A-Za-z0-9_.-]+\.json$",
        description="Environment config, relative to deploy/ (e.g. config/prod.json).",
    )
    region: AwsRegion = Field(..., description="Region the pipeline deploys this environment to (must be allowed by its config).")
    approval_required: bool = Field(False, description="Every deployment to this environment waits for a person's approval.")
    smoke_run: bool = Field(False, description="After deploying, run each pipeline once on its sample input.")


class Rule(StrictModel):
    """Maps git events to one environment. Which fields apply depends on ``event``:

    push: ``branch`` is the pushed branch. pull_request / pull_request_merged: ``branch`` is the
    target branch, ``source_branch`` (optional) the source. tag: ``tag`` is the tag name and
    ``branch`` (optional) a branch the tagged commit must be on.
    """

    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64, description="Shown in every decision.")
    description: str | None = None
    event: EventKind | list[EventKind] = Field(..., description="Event kind(s) this rule matches.")
    branch: Glob | None = None
    source_branch: Glob | None = None
    tag: Glob | None = None
    environment: EnvName
    action: Literal["deploy", "plan"] = Field(
        "deploy", description="'plan' only plans (a candidate), 'deploy' plans then applies."
    )
    approval_required: bool = Field(False, description="Require approval even if the environment does not.")
    projects: list[Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]] | None = Field(
        None, min_length=1, description="Limit to these projects; omit for every project."
    )

    @field_validator("event")
    @classmethod
    def _events_not_empty(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("must name at least one event kind")
        return value

    @property
    def events(self) -> tuple[str, ...]:
        return (self.event,) if isinstance(self.event, str) else tuple(dict.fromkeys(self.event))

    @model_validator(mode="after")
    def _fields_fit_events(self) -> Rule:
        events = self.events
        if "tag" in events:
            if len(events) > 1:
                raise ValueError("a tag rule cannot also match other event kinds (its 'branch' means something else)")
            if self.tag is None:
                raise ValueError("'tag' (a glob of tag names) is required for a tag rule")
            if self.source_branch is not None:
                raise ValueError("'source_branch' only applies to pull request events")
            return self
        if self.tag is not None:
            raise ValueError("'tag' only applies to tag rules")
        if self.branch is None:
            raise ValueError("'branch' is required for push and pull request rules")
        if self.source_branch is not None and not set(events) <= set(PR_KINDS):
            raise ValueError("'source_branch' only applies to pull request events")
        return self


class RoutingRules(StrictModel):
    """The whole rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "Pipeline deployer routing rules"})

    schema_: str | None = Field(None, alias="$schema", description="Path of the JSON Schema, for editors.")
    version: Literal[1] = Field(..., description="Format version of this file.")
    environments: dict[EnvName, EnvironmentTarget] = Field(..., min_length=1)
    rules: list[Rule] = Field(..., description="Tried in order; the first match wins; no match deploys nothing.")

    @model_validator(mode="after")
    def _rules_consistent(self) -> RoutingRules:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name '{rule.name}' is used twice")
            seen.add(rule.name)
            if rule.environment not in self.environments:
                raise ValueError(
                    f"rule '{rule.name}': environment '{rule.environment}' is not defined in 'environments'"
                    f" (defined: {', '.join(sorted(self.environments))})"
                )
        return self


def parse_rules(data: object, source: str) -> RoutingRules:
    """Validate already-parsed JSON; ConfigError naming ``source`` and the field otherwise."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a JSON object")
    try:
        return RoutingRules.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None


def load_rules(path: Path = DEFAULT_RULES_PATH) -> RoutingRules:
    """Load and validate a routing rules file."""
    return parse_rules(read_json_file(path, what="routing rules"), str(path))


def rules_json_schema() -> str:
    """The JSON Schema text of the rules file, exactly as checked in next to it."""
    return json.dumps(RoutingRules.model_json_schema(by_alias=True), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":  # regenerate the published schema
    sys.stdout.write(rules_json_schema())
