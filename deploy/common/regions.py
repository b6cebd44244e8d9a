"""One config, several regions: what AWS names globally must differ per region.

S3 bucket names are global (across all accounts), IAM role names are global within the account,
and S3 sends a bucket's events only to EventBridge in the bucket's own region. So a config that
allows more than one region must put ``{region}`` in every bucket name it gives; each name is
rendered with the region deployed to. Role names get the region appended, only when several
regions are allowed (single-region names stay as they were, so existing deployments don't churn).
The deployer's record and lock live in the artifact bucket, hence are per region too.
"""
from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from .config import GLOBAL_NAME, REGION_PLACEHOLDER, BucketName, EnvironmentConfig
from .errors import ConfigError

IAM_ROLE_NAME_MAX = 64
_BUCKET_NAME = TypeAdapter(BucketName)


def render(template: str, region: str) -> str:
    """A bucket name with ``{region}`` replaced by the region."""
    return template.replace(REGION_PLACEHOLDER, region)


def role_name(base: str, region: str, regions: list[str] | tuple[str, ...]) -> str:
    """``base`` as is for a single-region config; ``base-<region>`` when several regions are allowed."""
    name = f"{base}-{region}" if len(regions) > 1 else base
    if len(name) > IAM_ROLE_NAME_MAX:
        raise ValueError(f"IAM role name {name} is longer than {IAM_ROLE_NAME_MAX} characters")
    return name


def boundary_name(environment: str, region: str, regions: list[str] | tuple[str, ...]) -> str:
    """The environment's permissions boundary, ``pipeline-boundary-<env>``, plus ``-<region>`` when several regions
    are allowed: IAM policy names are global in the account and each region is deployed on its own (its own record),
    so each region keeps its own boundary, scoped to that region's resources."""
    return f"pipeline-boundary-{environment}-{region}" if len(regions) > 1 else f"pipeline-boundary-{environment}"


def environment_buckets(config: EnvironmentConfig, settings: dict[str, BaseModel], region: str) -> list[str]:
    """Every bucket the environment's config names (its own fields and each project's), rendered for ``region``."""
    fields = [*global_name_fields(config)]
    for project, project_settings in sorted(settings.items()):
        fields += global_name_fields(project_settings, ("projects", project))
    return sorted({render(template, region) for _, template in fields})


def _is_global_name(annotation: Any) -> bool:
    """True if the annotation is (or wraps, e.g. in Optional or list) a type marked GLOBAL_NAME."""
    if typing.get_origin(annotation) is typing.Annotated:
        if any(m is GLOBAL_NAME for m in annotation.__metadata__):
            return True
    return any(_is_global_name(arg) for arg in typing.get_args(annotation))


def global_name_fields(model: BaseModel, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(dotted field path, value) of every bucket-name field set in ``model``, nested models included."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = (*prefix, info.alias or name)
        if any(m is GLOBAL_NAME for m in info.metadata) or _is_global_name(info.annotation):
            values = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
            for key, item in values:
                if isinstance(item, str):
                    yield ".".join(str(p) for p in (*path, *(() if key is None else (key,)))), item
        elif isinstance(value, BaseModel):
            yield from global_name_fields(value, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    yield from global_name_fields(item, (*path, str(key)))


def check_bucket_names(config: EnvironmentConfig, settings: BaseModel | None, project: str, source: str) -> None:
    """Every bucket name of the config and of the project's settings: ``{region}`` in it when several
    regions are allowed, and a valid bucket name once rendered for each allowed region."""
    fields = [*global_name_fields(config)]
    if settings is not None:
        fields += global_name_fields(settings, ("projects", project))
    regions = list(config.regions)
    for path, template in fields:
        if len(regions) > 1 and REGION_PLACEHOLDER not in template:
            raise ConfigError(f"{source}: {path}: this config allows {len(regions)} regions ({', '.join(regions)}) "
                              f"but bucket names are global: put {REGION_PLACEHOLDER} in the name")
        if REGION_PLACEHOLDER not in template:
            continue
        for region in regions:
            rendered = render(template, region)
            try:
                _BUCKET_NAME.validate_python(rendered)
            except ValidationError as exc:
                raise ConfigError(f"{source}: {path}: for region {region} the name is {rendered!r}: {exc.errors()[0]['msg']}") from None
