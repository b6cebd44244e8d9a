"""Fixtures of the delivery tests: Bitbucket bodies, rules, a stub Jenkins, a running receiver."""
from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from deploy.delivery.rules import DEFAULT_RULES_PATH, RoutingRules, load_rules, parse_rules

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "bitbucket"
PROJECTS = ("fpac", "sales")

# The hashes the fixtures use (see fixtures/README.md).
DEV_OLD = "3b1f0c9e5d7a2f4b6c8d0e1f2a3b4c5d6e7f8091"
DEV_NEW = "8f2c4e6a0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f90"
REL = "c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7"
TAG_COMMIT = "d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0"
TAG_OBJECT = "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
MAIN_OLD = "e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0"
MERGE = "f0e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d"
PR_HEAD = "a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def rules_from(data: dict[str, Any]) -> RoutingRules:
    return parse_rules(data, "test-rules.json")


@pytest.fixture(scope="session")
def repo_rules() -> RoutingRules:
    """The checked-in deploy/config/routing.json."""
    return load_rules(DEFAULT_RULES_PATH)


@pytest.fixture(scope="session")
def clone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A Jenkins-like clone whose origin/main holds the checked-in rules (see gitutil.make_delivery_clone).
    Shared by many tests: do not change it."""
    from .gitutil import make_delivery_clone

    return make_delivery_clone(tmp_path_factory.mktemp("delivery-git"), DEFAULT_RULES_PATH.read_text())


@dataclass
class JenkinsStub:
    """A Jenkins stand-in on loopback that records every request and answers ``status``."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 201

    def builds(self) -> list[dict[str, str]]:
        return [r["form"] for r in self.requests if r["path"].endswith("/buildWithParameters")]


@pytest.fixture
def jenkins() -> Iterator[JenkinsStub]:
    stub = JenkinsStub(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            with lock:
                stub.requests.append({
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "form": {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()},
                })
                status = stub.status
            self.send_response(status)
            if status == 201:
                self.send_header("Location", f"{stub.url}/queue/item/{len(stub.requests)}/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()


JENKINS_ENV = {"JENKINS_USER": "deploy-bot", "JENKINS_API_TOKEN": "tok-3f9a1c7e5b", "JENKINS_JOB": "delivery/aws-pipelines"}
SECRET = "whsec-5e1d9b3a7c"


@dataclass
class Receiver:
    url: str
    logs: io.StringIO
    dead_letter: Path


@pytest.fixture
def start_receiver(jenkins: JenkinsStub, tmp_path: Path, repo_rules: RoutingRules) -> Iterator[Callable[..., Receiver]]:
    """Start the receiver app on a free loopback port (real HTTP), wired to the stub Jenkins."""
    from deploy.delivery.deadletter import DeadLetters
    from deploy.delivery.jenkins_api import JenkinsClient, JenkinsSettings
    from deploy.delivery.logs import configure_json_logging
    from deploy.delivery.receiver import ReceiverConfig, create_app, make_receiver_server
    from waitress.wasyncore import close_all

    servers = []

    def start(max_body_bytes: int = 64 * 1024, rules: RoutingRules | None = None, env: dict[str, str] | None = None) -> Receiver:
        logs = io.StringIO()
        configure_json_logging(stream=logs)
        settings = JenkinsSettings.from_env({**JENKINS_ENV, "JENKINS_URL": jenkins.url, **(env or {})}, allow_http=True)
        dead_letter = tmp_path / "dead-letter.jsonl"
        config = ReceiverConfig(
            secret=SECRET.encode(), rules=rules or repo_rules, projects=PROJECTS, dead_letters=DeadLetters(dead_letter),
            trigger=JenkinsClient(settings, timeout=5).trigger, state=tmp_path / "state.sqlite3", max_body_bytes=max_body_bytes,
        )
        server = make_receiver_server(create_app(config), "127.0.0.1", 0, max_body_bytes)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        return Receiver(url=f"http://127.0.0.1:{server.effective_port}", logs=logs, dead_letter=dead_letter)

    yield start
    for server, thread in servers:
        # Closed from its own loop thread: closing the sockets from here would break the select it waits in.
        server.trigger.pull_trigger(lambda server=server: (server.task_dispatcher.shutdown(), close_all(server._map)))
        thread.join(timeout=10)
        assert not thread.is_alive(), "the receiver did not stop"
