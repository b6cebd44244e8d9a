"""`local start|status|stop` over a real server in a temp state dir, with a stale record first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from deploy.local_aws import manager
from deploy.local_aws.commands import local


def test_start_status_stop_cycle(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / manager.STATE_FILE).write_text(
        json.dumps({"pid": dead.pid, "port": 1, "endpoint": "http://127.0.0.1:1"}))
    runner = CliRunner()
    args = ["--state-dir", str(tmp_path)]

    not_running = runner.invoke(local, ["status", *args])
    assert not_running.exit_code == 1 and "not running" in not_running.output

    started = runner.invoke(local, ["start", *args])
    try:
        assert started.exit_code == 0, started.output
        endpoint = json.loads((tmp_path / manager.STATE_FILE).read_text())["endpoint"]
        assert started.output.strip() == f"local AWS running at {endpoint}"

        running = runner.invoke(local, ["status", *args])
        assert running.exit_code == 0
        assert running.output.startswith(f"local AWS running at {endpoint} (pid ")
    finally:
        stopped = runner.invoke(local, ["stop", *args])
    assert stopped.exit_code == 0 and stopped.output.strip() == "local AWS stopped"
    again = runner.invoke(local, ["stop", *args])
    assert again.exit_code == 0 and again.output.strip() == "local AWS was not running"


def test_start_sets_the_realism_of_the_running_server(tmp_path: Path) -> None:
    from deploy.local_aws.admin import get_realism

    runner = CliRunner()
    args = ["--state-dir", str(tmp_path)]
    started = runner.invoke(local, ["start", *args, "--realism", "off"])
    try:
        assert started.exit_code == 0, started.output
        assert started.output.splitlines()[-1] == "realism off"
        endpoint = json.loads((tmp_path / manager.STATE_FILE).read_text())["endpoint"]
        assert get_realism(endpoint)["enabled"] is False
        tuned = runner.invoke(local, ["start", *args, "--realism", '{"enabled": true, "iam_propagation_seconds": 9}'])
        assert tuned.exit_code == 0 and "iam_propagation_seconds=9.0" in tuned.output
        bad = runner.invoke(local, ["start", *args, "--realism", "sometimes"])
        assert bad.exit_code == 2 and "must be 'on', 'off' or a JSON object" in bad.output
        unknown = runner.invoke(local, ["start", *args, "--realism", '{"typo": 1}'])
        assert unknown.exit_code == 1 and "unknown realism setting 'typo'" in unknown.output
    finally:
        runner.invoke(local, ["stop", *args])
