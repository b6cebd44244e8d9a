#!/usr/bin/env python3
"""Root entry point, as the brief asks: ``cd deploy && python deploy.py --config config/dev.json ...``.

This file is a script, not a module of the package: it puts the repository root on ``sys.path``
so that ``import deploy`` finds the package folder rather than this file, then hands over to the CLI.
"""
import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPO_ROOT / "deploy"]
sys.path.insert(0, str(_REPO_ROOT))

from deploy.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
