"""Project discovery: ``--project-type fpac`` -> ``deploy/projects/fpac_pipeline``.

A new pipeline is a new folder ``deploy/projects/<name>_pipeline/`` with a ``deploy.py`` that
defines ``Settings`` (its config section) and ``build_specs(ctx)``; nothing else changes.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from .errors import ProjectError

PROJECTS_DIR = Path(__file__).resolve().parent.parent / "projects"
_SUFFIX = "_pipeline"


def list_projects() -> list[str]:
    """Names of the deployable projects, sorted."""
    return sorted(
        p.name[: -len(_SUFFIX)]
        for p in PROJECTS_DIR.iterdir()
        if p.is_dir() and p.name.endswith(_SUFFIX) and (p / "deploy.py").is_file()
    )


def project_folder(name: str) -> Path:
    """The folder of project ``name``; ProjectError listing the known ones if there is none."""
    known = list_projects()
    if name not in known:
        raise ProjectError(f"unknown project '{name}'; known projects: {', '.join(known) or 'none'}")
    return PROJECTS_DIR / f"{name}{_SUFFIX}"


def load_project(name: str) -> ModuleType:
    """Import the project's ``deploy`` module (its specs builder)."""
    project_folder(name)
    module = importlib.import_module(f"deploy.projects.{name}{_SUFFIX}.deploy")
    for attr in ("Settings", "build_specs"):
        if not hasattr(module, attr):
            raise ProjectError(f"project '{name}': deploy.py defines no '{attr}'")
    return module
