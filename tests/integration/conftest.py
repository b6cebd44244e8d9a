"""Deploy tests run the real deploy path against the local AWS server over HTTP."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from deploy.common.aws_common import AwsTarget, CallLog
from deploy.common.preparation import Prepared, connect, prepare
from deploy.common.applier import ApplyResult
from deploy.common.engine import Engine
from deploy.common.plan import Plan

REPO = Path(__file__).resolve().parents[2]
LOCAL_CONFIG = REPO / "deploy" / "config" / "local.json"
PROJECT_DIR = REPO / "deploy" / "projects" / "fpac_pipeline"


@pytest.fixture
def write_config(tmp_path, clean_aws_endpoint) -> Callable[..., Path]:
    """Write a config pointing at the local AWS endpoint as a plain URL (the same path as real AWS)."""
    def write(mutate: Callable[[dict[str, Any]], None] | None = None, name: str = "itest.json") -> Path:
        doc = json.loads(LOCAL_CONFIG.read_text())
        doc["environment"] = "itest"
        doc["aws"] = {"endpoint": clean_aws_endpoint}
        if mutate:
            mutate(doc)
        path = tmp_path / name
        path.write_text(json.dumps(doc))
        return path
    return write


class Runner:
    """prepare -> plan -> apply, counting every AWS call through a botocore before-call hook."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.calls = CallLog()

    def engine(self, prepared: Prepared, hooks=None) -> Engine:
        self.calls = CallLog()
        target = AwsTarget(region=prepared.region, endpoint_url=self.endpoint)
        return connect(prepared, call_log=self.calls, event_hooks=hooks, target=target)

    def deploy(self, config: Path, specs_filter=None, hooks=None, on_event=None) -> tuple[Plan, ApplyResult]:
        prepared = prepare(config, "us-east-2", "fpac")
        specs = specs_filter(prepared.specs) if specs_filter else prepared.specs
        engine = self.engine(prepared, hooks)
        plan = engine.plan(specs)
        return plan, engine.apply(plan, on_event=on_event)


@pytest.fixture
def runner(clean_aws_endpoint) -> Runner:
    return Runner(clean_aws_endpoint)


@pytest.fixture
def project_copy(tmp_path, monkeypatch) -> Path:
    """A scratch copy of the fpac project folder that the project module packages from."""
    from deploy.projects.fpac_pipeline import deploy as fpac

    copy = tmp_path / "fpac_pipeline"
    shutil.copytree(PROJECT_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fpac, "HERE", copy)
    return copy
