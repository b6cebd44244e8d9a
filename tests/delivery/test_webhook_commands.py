"""`deploy.py webhook serve` as a real process, and `webhook replay` of failed triggers."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from deploy.delivery.cli import webhook
from deploy.delivery.deadletter import DeadLetters
from deploy.delivery.signature import sign

from .conftest import DEV_NEW, JENKINS_ENV, SECRET, fixture_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]
CODE = "from deploy.delivery.cli import webhook; webhook(prog_name='deploy.py webhook')"


def serve_env(jenkins_url: str, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JENKINS_", "BITBUCKET_"))}
    return {**base, **JENKINS_ENV, "JENKINS_URL": jenkins_url, "BITBUCKET_WEBHOOK_SECRET": SECRET, **extra}


def test_serve_process_end_to_end(jenkins, tmp_path: Path):
    dead_letter = tmp_path / "dl.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-c", CODE, "serve", "--port", "0", "--dead-letter", str(dead_letter), "--state", str(tmp_path / "s.db"),
         "--allow-http-jenkins"],
        cwd=REPO_ROOT, env=serve_env(jenkins.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()

    def next_log() -> dict:
        """The next line of ours; waitress' own warnings (e.g. its task queue depth on a loaded machine) are skipped."""
        while True:
            seen.append(lines.get(timeout=30))
            line = json.loads(seen[-1])
            if line["logger"] != "waitress":
                return line

    try:
        listening = next_log()
        assert listening["message"] == "listening" and listening["host"] == "127.0.0.1"
        assert listening["server"] == "waitress"
        url = f"http://127.0.0.1:{listening['port']}"
        health = requests.get(f"{url}/healthz", timeout=5)
        assert health.text == "ok" and "waitress" in health.headers["Server"]
        body = fixture_bytes("server/refs_changed_develop.json")
        response = requests.post(f"{url}/webhook", data=body, timeout=10, headers={
            "X-Event-Key": "repo:refs_changed", "X-Request-Id": "srv-1", "X-Hub-Signature": sign(SECRET.encode(), body)})
        assert response.status_code == 200 and response.json()["status"] == "triggered"
        [build] = jenkins.builds()
        assert (build["ENVIRONMENT"], build["COMMIT"], build["DELIVERY_ID"]) == ("dev", DEV_NEW, "srv-1")
        handled = next_log()
        assert (handled["message"], handled["status"], handled["delivery_id"]) == ("webhook handled", 200, "srv-1")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert process.returncode == 0
    assert next_log()["message"] == "stopped"
    everything = "".join(seen)
    assert SECRET not in everything and JENKINS_ENV["JENKINS_API_TOKEN"] not in everything


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        ({"BITBUCKET_WEBHOOK_SECRET": ""}, [], "Error: BITBUCKET_WEBHOOK_SECRET is not set (or is blank)"),
        ({"BITBUCKET_WEBHOOK_SECRET": " \t\n "}, [], "Error: BITBUCKET_WEBHOOK_SECRET is not set (or is blank)"),
        ({"JENKINS_API_TOKEN": ""}, ["--allow-http-jenkins"],
         "Error: environment variable(s) not set: JENKINS_API_TOKEN (needed to trigger Jenkins)"),
        ({}, [], "Error: JENKINS_URL must be https:// (the API token goes with every request); --allow-http-jenkins"),
        ({"WEBHOOK_ALLOW_HTTP_JENKINS": "1"}, ["--state", "/nonexistent/dir/state.db"],
         "Error: /nonexistent/dir/state.db: cannot open the de-duplication state"),
    ],
)
def test_serve_refuses_to_start_without_its_settings(change, args, message, tmp_path: Path):
    env = {**JENKINS_ENV, "JENKINS_URL": "http://127.0.0.1:9", "BITBUCKET_WEBHOOK_SECRET": SECRET, **change}
    result = CliRunner().invoke(webhook, ["serve", "--port", "0", "--dead-letter", str(tmp_path / "dl"), *args], env=env)
    assert result.exit_code == 1
    assert result.output.startswith(message) and len(result.output.strip().splitlines()) == 1, result.output
    assert SECRET not in result.output and JENKINS_ENV["JENKINS_API_TOKEN"] not in result.output


def test_the_app_factory_reads_the_environment(jenkins, tmp_path: Path):
    from deploy.delivery.errors import DeliveryError
    from deploy.delivery.receiver import create_app_from_env
    from deploy.common.errors import ConfigError

    env = {**JENKINS_ENV, "JENKINS_URL": jenkins.url, "BITBUCKET_WEBHOOK_SECRET": SECRET,
           "WEBHOOK_STATE": str(tmp_path / "s.db"), "WEBHOOK_DEAD_LETTER": str(tmp_path / "dl"),
           "WEBHOOK_ALLOW_HTTP_JENKINS": "true", "WEBHOOK_MAX_BODY_BYTES": "16384"}
    client = create_app_from_env(env).test_client()
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    assert client.post("/webhook", data=b"x" * 16385, headers={"X-Event-Key": "repo:push"}).status_code == 413
    body = fixture_bytes("server/refs_changed_develop.json")
    response = client.post("/webhook", data=body, headers={"X-Event-Key": "repo:refs_changed", "X-Request-Id": "f-1",
                                                            "X-Hub-Signature": sign(SECRET.encode(), body)})
    assert response.get_json()["status"] == "triggered" and len(jenkins.builds()) == 1
    assert (tmp_path / "s.db").is_file()
    with pytest.raises(DeliveryError, match="WEBHOOK_MAX_BODY_BYTES: not a valid int: 'lots'"):
        create_app_from_env({**env, "WEBHOOK_MAX_BODY_BYTES": "lots"})
    with pytest.raises(ConfigError, match="BITBUCKET_WEBHOOK_SECRET is not set"):
        create_app_from_env({**env, "BITBUCKET_WEBHOOK_SECRET": "  "})
    with pytest.raises(DeliveryError, match="JENKINS_URL must be https://"):
        create_app_from_env({**env, "WEBHOOK_ALLOW_HTTP_JENKINS": ""})


def test_replay_queues_the_failed_builds_once(jenkins, tmp_path: Path):
    path = tmp_path / "dl.jsonl"
    letters = DeadLetters(path)
    params = {"ENVIRONMENT": "dev", "ACTION": "deploy", "COMMIT": DEV_NEW, "PROJECTS": "fpac", "DELIVERY_ID": "lost-7"}
    letters.record_failure("lost-7", "repo:push", "push to develop", params, "Jenkins job 'x': request failed (ConnectTimeout)")
    letters.record_failure("lost-7", "repo:push", "push to develop", params, "again")  # Bitbucket's retry failed too
    letters.record_failure("other", "repo:push", "push to develop", {**params, "DELIVERY_ID": "other"}, "x")
    env = {**JENKINS_ENV, "JENKINS_URL": jenkins.url}
    runner = CliRunner()

    result = runner.invoke(webhook, ["replay", "--delivery-id", "lost-7", "--dead-letter", str(path), "--allow-http-jenkins"], env=env)
    assert result.exit_code == 0, result.output
    assert f"replayed push to develop: deploy dev at {DEV_NEW} -> {jenkins.url}/queue/item/1/" in result.output
    assert jenkins.builds() == [params]

    again = runner.invoke(webhook, ["replay", "--delivery-id", "lost-7", "--dead-letter", str(path), "--allow-http-jenkins"], env=env)
    assert again.exit_code == 0 and "every failed build was already replayed" in again.output
    assert len(jenkins.builds()) == 1
    assert DeadLetters(path).pending("other")[0][0]["parameters"]["DELIVERY_ID"] == "other"

    unknown = runner.invoke(webhook, ["replay", "--delivery-id", "nope", "--dead-letter", str(path)], env=env)
    assert unknown.exit_code == 1 and "no failed trigger recorded for delivery nope" in unknown.output


def test_replay_failure_keeps_the_build_pending(jenkins, tmp_path: Path):
    path = tmp_path / "dl.jsonl"
    DeadLetters(path).record_failure("d-9", "pr:merged", "pull request #1 a -> main merged", {"ENVIRONMENT": "prod"}, "x")
    jenkins.status = 503
    result = CliRunner().invoke(webhook, ["replay", "--delivery-id", "d-9", "--dead-letter", str(path)],
                                env={**JENKINS_ENV, "JENKINS_URL": jenkins.url, "WEBHOOK_ALLOW_HTTP_JENKINS": "1"})
    assert result.exit_code == 1 and "buildWithParameters answered HTTP 503" in result.output
    assert len(DeadLetters(path).pending("d-9")[0]) == 1


def test_a_corrupt_dead_letter_file_is_reported(tmp_path: Path):
    path = tmp_path / "dl.jsonl"
    path.write_text('{"type": "failed"}\nnot json\n')
    result = CliRunner().invoke(webhook, ["replay", "--delivery-id", "x", "--dead-letter", str(path)])
    assert result.exit_code == 1 and f"{path}: line 2 is not valid JSON" in result.output
