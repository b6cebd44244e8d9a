"""The webhook receiver: Bitbucket posts here; matching events queue the Jenkins deployment job.

Flask (already a dependency) on werkzeug's threaded server. Answers, in the order checked:
413 body over the limit; 401 signature missing or wrong (an *unsigned* ``diagnostics:ping`` is
answered 200: older Bitbucket Server versions do not sign "Test connection", and a ping does
nothing); 400 no ``X-Event-Key``, body not JSON, or a known event missing a field; 200 ping;
202 an event we do not route (ignored); 200 a repeated delivery (``X-Request-UUID`` on Cloud,
``X-Request-Id`` on Server) or a routed delivery; 502 Jenkins did not accept a build: the build is
appended to the dead-letter file with its delivery id (``webhook replay``), the delivery is
forgotten so Bitbucket's retry goes through.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from ..errors import ConfigError
from .bitbucket import PING_EVENTS, parse_delivery
from .deadletter import DeadLetters
from .errors import JenkinsTriggerError, PayloadError
from .jenkins_api import build_parameters
from .logs import log
from .recent import RecentKeys
from .routing import Decision, route_events
from .rules import RoutingRules
from .signature import verify

DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # Bitbucket bodies are far smaller; anything bigger is not Bitbucket


@dataclass
class ReceiverConfig:
    secret: bytes = field(repr=False)
    rules: RoutingRules
    projects: tuple[str, ...]
    dead_letters: DeadLetters
    trigger: Callable[[Mapping[str, str]], str]  # queues one build, returns its queue URL
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    deliveries: RecentKeys = field(default_factory=lambda: RecentKeys(max_keys=10_000, ttl_seconds=24 * 3600))
    deployments: RecentKeys = field(default_factory=lambda: RecentKeys(max_keys=10_000, ttl_seconds=15 * 60))

    def __post_init__(self) -> None:
        if not self.secret:
            raise ConfigError("BITBUCKET_WEBHOOK_SECRET is not set: the receiver refuses unsigned webhooks")
        for rule in self.rules.rules:
            unknown = sorted(set(rule.projects or ()) - set(self.projects))
            if unknown:
                raise ConfigError(f"routing rule '{rule.name}': projects: unknown project(s) {', '.join(unknown)}")


def _reply(status: int, outcome: str, fields: dict[str, Any], started: float, **body: Any) -> Response:
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    log(level, "webhook handled", status=status, outcome=outcome, duration_ms=duration_ms, **fields)
    return Response(json.dumps({"status": outcome, **body}), status=status, mimetype="application/json")


def _summary(decision: Decision) -> dict[str, Any]:
    return {
        "event": decision.event.describe(),
        "deploy": decision.deploy,
        "environment": decision.environment,
        "action": decision.action,
        "commit": decision.commit,
        "projects": list(decision.projects),
        "approval_required": decision.approval_required,
        "reason": decision.reason,
    }


def create_app(config: ReceiverConfig) -> Flask:
    app = Flask("deploy.delivery.receiver")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        fields = {
            "delivery_id": request.headers.get("X-Request-UUID") or request.headers.get("X-Request-Id") or "-",
            "event_key": request.headers.get("X-Event-Key") or "-",
            "path": request.path,
        }
        return _reply(error.code or 500, error.name.lower().replace(" ", "_"), fields, time.monotonic(), error=error.description)

    @app.get("/healthz")
    def health() -> Response:
        body = {"status": "ok", "environments": sorted(config.rules.environments), "rules": len(config.rules.rules),
                "projects": list(config.projects)}
        return Response(json.dumps(body), mimetype="application/json")

    @app.post("/webhook")
    def webhook() -> Response:
        started = time.monotonic()
        event_key = (request.headers.get("X-Event-Key") or "").strip()
        delivery_id = request.headers.get("X-Request-UUID") or request.headers.get("X-Request-Id")
        fields: dict[str, Any] = {"delivery_id": delivery_id or "-", "event_key": event_key or "-",
                                  "attempt": request.headers.get("X-Attempt-Number")}
        body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: 413 through the handler above
        signature = request.headers.get("X-Hub-Signature")
        if event_key in PING_EVENTS and signature is None:
            return _reply(200, "pong", fields, started)
        if not verify(config.secret, body, signature):
            why = "missing X-Hub-Signature" if signature is None else "X-Hub-Signature does not match the body"
            return _reply(401, "unauthorized", fields, started, error=why)
        if not event_key:
            return _reply(400, "bad_request", fields, started, error="missing X-Event-Key header")
        if event_key in PING_EVENTS:
            return _reply(200, "pong", fields, started)
        try:
            payload = json.loads(body)
            delivery = parse_delivery(event_key, payload)
        except (ValueError, UnicodeDecodeError):
            return _reply(400, "bad_request", fields, started, error="body is not JSON")
        except PayloadError as exc:
            return _reply(400, "bad_request", fields, started, error=str(exc))
        if delivery.status == "ignored":
            return _reply(202, "ignored", fields, started, error=f"event {event_key} is not routed")
        if not delivery_id:
            delivery_id = fields["delivery_id"] = f"local-{uuid.uuid4()}"
        if not config.deliveries.claim(delivery_id):
            return _reply(200, "duplicate", fields, started, delivery_id=delivery_id)
        return _route_and_trigger(config, delivery.events, event_key, delivery_id, fields, started)

    return app


def _route_and_trigger(config: ReceiverConfig, events: Any, event_key: str, delivery_id: str,
                       fields: dict[str, Any], started: float) -> Response:
    results = []
    failed = triggered = 0
    for decision in route_events(events, config.rules, config.projects):
        result = _summary(decision)
        results.append(result)
        key = decision.deployment_key()
        if key is None:
            result["outcome"] = "nothing"
            continue
        if not config.deployments.claim(key):
            result["outcome"] = "already_triggered"  # e.g. the push half of a merge
            continue
        parameters = build_parameters(decision, delivery_id)
        try:
            result["queue_url"] = config.trigger(parameters)
            result["outcome"] = "triggered"
            triggered += 1
        except JenkinsTriggerError as exc:
            config.deployments.release(key)
            config.dead_letters.record_failure(delivery_id, event_key, decision.event.describe(), parameters, str(exc))
            log(logging.ERROR, "jenkins trigger failed; recorded for replay", delivery_id=delivery_id, event_key=event_key,
                error=str(exc), dead_letter=str(config.dead_letters.path), environment=decision.environment,
                commit=decision.commit)
            result["outcome"] = "failed"
            result["error"] = str(exc)
            failed += 1
    logged = ("event", "environment", "action", "commit", "projects", "outcome")
    fields["decisions"] = [{key: result.get(key) for key in logged} for result in results]
    if failed:
        config.deliveries.release(delivery_id)
        return _reply(502, "jenkins_failed", fields, started, delivery_id=delivery_id, results=results)
    outcome = "triggered" if triggered else "nothing_to_deploy"
    return _reply(200, outcome, fields, started, delivery_id=delivery_id, results=results)


def make_receiver_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """A threaded werkzeug server (port 0: any free port; read ``server.server_port``)."""
    return make_server(host, port, app, threaded=True)
