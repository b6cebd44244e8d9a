"""The realism layer as WSGI middleware in front of moto: AWS's delays, refusals and limits.

Only the local AWS server process imports this (it imports moto). Settings live in the server and
can be read or changed over HTTP at ADMIN_PATH; /moto-api/reset also forgets the layer's state.
It also counts the AWS requests it sees and how many were in flight at once (STATS_PATH: GET
reads, POST resets), so a test or benchmark can see how concurrent a client really was.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from deploy.local_aws.admin import REALISM_PATH as ADMIN_PATH
from deploy.local_aws.admin import STATS_PATH
from deploy.local_aws.realism.behaviours import Behaviour, all_behaviours
from deploy.local_aws.realism.settings import RealismSettings
from deploy.local_aws.realism.wire import Answer, AwsRequest, parse_request
SettingsHook = Callable[[RealismSettings], None]


class InFlight:
    """AWS requests seen, and the most that were being answered at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.now = self.most = self.requests = 0

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.requests += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1

    def to_json(self) -> dict[str, int]:
        with self._lock:
            return {"requests": self.requests, "in_flight": self.now, "max_in_flight": self.most}


class RealismMiddleware:
    def __init__(self, app: Callable, settings: RealismSettings, hooks: Iterable[SettingsHook] = ()):
        self.app = app
        self.start_settings = settings
        self.behaviours: list[Behaviour] = all_behaviours()
        self._hooks = list(hooks)
        self._lock = threading.Lock()
        self.settings = settings
        self.in_flight = InFlight()
        self.configure(settings)

    def configure(self, settings: RealismSettings) -> None:
        with self._lock:
            self.settings = settings
        for hook in self._hooks:
            hook(settings)

    def reset(self) -> None:
        for behaviour in self.behaviours:
            with behaviour.lock:
                behaviour.reset()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == ADMIN_PATH:
            return self._admin(environ).send(start_response)
        if path == STATS_PATH:
            if environ.get("REQUEST_METHOD") == "POST":
                self.in_flight.reset()
            body = json.dumps(self.in_flight.to_json()).encode()
            return Answer(200, [("Content-Type", "application/json")], body).send(start_response)
        if path.rstrip("/") == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            self.reset()
            return self.app(environ, start_response)
        request = parse_request(environ)
        if request is None:
            return self.app(environ, start_response)
        self.in_flight.enter()
        try:
            settings = self.settings
            if settings.call_latency_ms > 0:  # even with realism off: latency without AWS's refusals
                time.sleep(settings.call_latency_ms / 1000)  # the round trip to AWS; other requests go on meanwhile
            if not request.operation:
                return self.app(environ, start_response)
            return self._answer(request, settings, environ, start_response)
        finally:
            self.in_flight.leave()

    def _answer(self, request: AwsRequest, settings: RealismSettings, environ: dict[str, Any],
                start_response: Callable) -> Iterable[bytes]:
        active = [b for b in self.behaviours if settings.enabled or b.always]
        now = time.monotonic()
        for behaviour in active:
            if behaviour.wants(request, settings):
                answer = behaviour.before(request, settings, now, lambda target, body: self._internal(environ, target, body))
                if answer is not None:
                    return answer.send(start_response)
        interested = [b for b in active if request.key in b.after_ops]
        if not interested:
            return self.app(environ, start_response)
        status, headers, body = self._call(environ)
        if int(status.split()[0]) < 300:
            now = time.monotonic()
            for behaviour in interested:
                rewritten = behaviour.after(request, body, settings, now)
                if rewritten is not None:
                    body = rewritten
        return Answer(int(status.split()[0]), headers, body).send(start_response)

    def _call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Run the wrapped app and collect its whole response."""
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured.update(status=status, headers=headers)
            return chunks.append

        result = self.app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        return captured["status"], list(captured["headers"]), b"".join(chunks)

    def _internal(self, environ: dict[str, Any], target: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A JSON-protocol request of our own to the wrapped app, signed like the caller's."""
        body = json.dumps(payload).encode()
        inner = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "HTTP_X_AMZ_TARGET": target}
        status, _, raw = self._call(inner)
        try:
            return int(status.split()[0]), json.loads(raw or b"{}")
        except ValueError:
            return int(status.split()[0]), {}

    def _admin(self, environ: dict[str, Any]) -> Answer:
        """GET: the settings. POST {overrides}: change them (?base=defaults starts from the server's start values)."""
        if environ.get("REQUEST_METHOD") == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                overrides = json.loads(environ["wsgi.input"].read(length) or b"{}")
                base = self.start_settings if "base=defaults" in environ.get("QUERY_STRING", "") else self.settings
                if not isinstance(overrides, dict):
                    raise ValueError("the body must be a JSON object of settings")
                self.configure(base.updated(overrides))
            except (ValueError, TypeError) as exc:
                body = json.dumps({"error": str(exc)}).encode()
                return Answer(400, [("Content-Type", "application/json")], body)
        body = json.dumps(self.settings.to_json()).encode()
        return Answer(200, [("Content-Type", "application/json")], body)
