"""What every benchmark sets up: dummy credentials, a temporary folder, a private local AWS, a scratch fpac.

Benchmarks are run as scripts (``python benchmarks/x.py``), so this folder is on ``sys.path`` and they import
it as ``scratch``. Nothing here reaches the internet: the server listens on loopback and dies with us.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.local_aws.manager import ServerHandle, spawn_server  # noqa: E402
from deploy.local_aws.realism.settings import ENV_VAR  # noqa: E402


@contextmanager
def scratch_folder(prefix: str = "bench-") -> Iterator[Path]:
    """A temporary folder, removed afterwards; boto3 gets dummy credentials (the local AWS accepts any)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def private_server(state_dir: Path, realism: str = "on") -> Iterator[ServerHandle]:
    """A local AWS of our own on loopback (``realism``: on, off or a JSON object), stopped afterwards."""
    server = spawn_server(state_dir, detach=False, exit_with_pid=os.getpid(), extra_env={ENV_VAR: realism})
    try:
        yield server
    finally:
        server.terminate()


def scratch_fpac(work: Path) -> Path:
    """A copy of fpac's project folder that fpac's definitions build from, so a benchmark can edit its code."""
    from deploy.projects.fpac_pipeline import deploy as fpac

    copy = work / "fpac_pipeline"
    shutil.copytree(Path(fpac.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    fpac.HERE = copy  # edit a scratch copy, never the repository
    return copy
