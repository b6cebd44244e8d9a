"""Project discovery: ``--project-type fpac`` -> ``deploy/projects/fpac_pipeline``.

A new pipeline is a new folder ``<name>_pipeline/`` with a ``deploy.py`` that defines ``Settings`` (its config
section) and ``build_specs(ctx)`` (optionally ``run_target(ctx)`` and ``summarize_run(record)``); nothing else
changes. Folders are found under ``deploy/projects/`` and under each directory listed in
``$PIPELINE_DEPLOYER_PROJECTS`` (``os.pathsep``-separated), e.g. a team's own repository of pipelines.
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

from .errors import ProjectError

PROJECTS_DIR = Path(__file__).resolve().parent.parent / "projects"
ENV_VAR = "PIPELINE_DEPLOYER_PROJECTS"
_SUFFIX = "_pipeline"
_EXTERNAL_PACKAGE = "pipeline_deployer_projects"  # where projects from $PIPELINE_DEPLOYER_PROJECTS are imported


def _roots() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    return [PROJECTS_DIR, *extra]


_scanned: tuple[tuple[tuple[str, int | None], ...], dict[str, Path]] | None = None  # (the roots as scanned, what was found)


def _folders(fresh: bool = True) -> dict[str, Path]:
    """The project folders of every root. ``fresh=False``: the last scan's, while no root folder changed since
    (a run of 50 projects looks each one up three times; a scan stats every folder)."""
    global _scanned
    roots = _roots()
    key = tuple((str(root), root.stat().st_mtime_ns if root.is_dir() else None) for root in roots)
    if not fresh and _scanned is not None and _scanned[0] == key:
        return _scanned[1]
    found = _scan(roots)
    _scanned = (key, found)
    return found


def _scan(roots: list[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and folder.name.endswith(_SUFFIX) and (folder / "deploy.py").is_file():
                name = folder.name[: -len(_SUFFIX)]
                if name in found:
                    raise ProjectError(f"project '{name}' is defined twice: {found[name]} and {folder}")
                found[name] = folder
    return found


def list_projects() -> list[str]:
    """Names of the deployable projects, sorted."""
    return sorted(_folders())


def project_folder(name: str) -> Path:
    """The folder of project ``name``; ProjectError listing the known ones if there is none."""
    folders = _folders(fresh=False)
    if name not in folders or not (folders[name] / "deploy.py").is_file():  # new, or gone, since the last scan
        folders = _folders()
    if name not in folders:
        raise ProjectError(f"unknown project '{name}'; known projects: {', '.join(sorted(folders)) or 'none'}")
    return folders[name]


def load_project(name: str) -> ModuleType:
    """Import the project's ``deploy`` module (its specs builder)."""
    folder = project_folder(name)
    if folder.parent == PROJECTS_DIR:
        module = importlib.import_module(f"deploy.projects.{folder.name}.deploy")
    else:
        module = _import_external(folder)
    for attr in ("Settings", "build_specs"):
        if not hasattr(module, attr):
            raise ProjectError(f"project '{name}': deploy.py defines no '{attr}'")
    return module


def _import_external(folder: Path) -> ModuleType:
    """A project folder outside the package, imported as a package so its deploy.py may import its siblings."""
    for name, path in ((_EXTERNAL_PACKAGE, None), (f"{_EXTERNAL_PACKAGE}.{folder.name}", folder)):
        if name not in sys.modules:
            package = ModuleType(name)
            package.__path__ = [str(path)] if path else []
            sys.modules[name] = package
    return importlib.import_module(f"{_EXTERNAL_PACKAGE}.{folder.name}.deploy")
