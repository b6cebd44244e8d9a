"""The manager starts a detached server, reuses it, reports it, stops it, and cleans stale records."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local_aws import manager
from deploy.local_aws.admin import LocalAwsError, health


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_start_reuse_status_stop(tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:  # two CLI runs at once share one server
        endpoints = list(pool.map(lambda _: manager.ensure_running(tmp_path), range(2)))
    endpoint = endpoints[0]
    try:
        assert endpoints[1] == endpoint
        assert endpoint.startswith("http://127.0.0.1:")
        record = json.loads((tmp_path / manager.STATE_FILE).read_text())
        answer = health(endpoint)
        assert answer is not None and answer["pid"] == record["pid"]

        assert manager.ensure_running(tmp_path) == endpoint  # reused, not a second server
        assert json.loads((tmp_path / manager.STATE_FILE).read_text())["pid"] == record["pid"]

        current = manager.status(tmp_path)
        assert current is not None and current["healthy"] is True
        assert current["endpoint"] == endpoint and current["moto"] == "5.2.1"
    finally:
        stopped = manager.stop(tmp_path)
    assert stopped is True
    assert health(endpoint) is None
    assert not (tmp_path / manager.STATE_FILE).exists()
    assert manager.status(tmp_path) is None
    assert manager.stop(tmp_path) is False
    assert "serving on" in (tmp_path / manager.LOG_FILE).read_text()


def test_stale_state_file_with_dead_pid_is_removed(tmp_path: Path) -> None:
    state = tmp_path / manager.STATE_FILE
    state.write_text(json.dumps({"pid": _dead_pid(), "port": 1, "endpoint": "http://127.0.0.1:1"}))
    assert manager.status(tmp_path) is None
    assert not state.exists()


def test_state_file_naming_a_foreign_live_pid_is_removed_without_signalling_it(tmp_path: Path) -> None:
    state = tmp_path / manager.STATE_FILE
    state.write_text(json.dumps({"pid": os.getpid(), "port": 1, "endpoint": "http://127.0.0.1:1"}))
    assert manager.stop(tmp_path) is False  # we are still alive, so nothing was signalled
    assert not state.exists()


def test_corrupt_state_file_counts_as_not_running(tmp_path: Path) -> None:
    (tmp_path / manager.STATE_FILE).write_text("{not json")
    assert manager.status(tmp_path) is None


def test_failed_start_names_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manager, "SERVER_MODULE", "deploy.local_aws.no_such_module")
    with pytest.raises(LocalAwsError, match="exited with code 1 while starting; see .*server.log"):
        manager.ensure_running(tmp_path, timeout=20)
    assert "No module named" in (tmp_path / manager.LOG_FILE).read_text()
    assert not (tmp_path / manager.STATE_FILE).exists()


def test_default_state_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(manager.ENV_STATE_DIR, str(tmp_path / "x"))
    assert manager.default_state_dir() == tmp_path / "x"
    monkeypatch.delenv(manager.ENV_STATE_DIR)
    assert manager.default_state_dir() == manager.REPO_ROOT / ".local-aws"


def test_server_exits_with_the_watched_process(tmp_path: Path) -> None:
    watched = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    handle = manager.spawn_server(tmp_path, detach=False, exit_with_pid=watched.pid)
    try:
        assert health(handle.endpoint) is not None
        watched.kill()
        watched.wait()
        assert handle.process is not None
        handle.process.wait(timeout=10)  # the watchdog polls once a second
        assert health(handle.endpoint) is None
    finally:
        handle.terminate()
