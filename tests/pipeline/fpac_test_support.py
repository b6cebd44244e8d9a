"""Paths and helpers shared by the pipeline tests (a plain module: test files import it by name)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
PIPELINE = REPO / "deploy" / "projects" / "fpac_pipeline"
GLUE = PIPELINE / "glue"
LAMBDA = PIPELINE / "lambda"
SAMPLE_DATA = PIPELINE / "sample_data"
GOOD_CSV = SAMPLE_DATA / "fpac_payments_good.csv"
BAD_SCHEMA_CSV = SAMPLE_DATA / "fpac_payments_bad_schema.csv"
SAMPLE_EVENT = SAMPLE_DATA / "eventbridge_object_created.json"
GLUE_FOLDERS = ("shared", "landingFiles", "cleaningFiles", "finalFiles")

# The Glue deployment ships each job's folder plus glue/shared as flat modules (--extra-py-files);
# the same flat imports must work here.
# Likewise each Lambda zip holds lambda/shared/*.py beside the handler.
for _path in [str(GLUE / f) for f in GLUE_FOLDERS] + [str(LAMBDA / "shared")]:
    if _path not in sys.path:
        sys.path.insert(0, _path)


def load_handler(name: str) -> ModuleType:
    """Import lambda/<name>/handler.py under a unique module name (all three are 'handler.py')."""
    module_name = f"fpac_lambda_{name.lower()}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, LAMBDA / name / "handler.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class FakeContext:
    """The attributes of a Lambda context object the handlers read."""

    aws_request_id = "req-0001"
    function_name = "test-function"
