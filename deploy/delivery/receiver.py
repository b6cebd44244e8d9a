"""The webhook receiver: Bitbucket posts here; matching events queue the Jenkins deployment job.

A Flask app built by ``create_app`` (or, configured from the environment alone, by the app factory
``create_app_from_env`` for any WSGI server), served by waitress (``make_receiver_server``), never
by werkzeug's development server. Answers, in the order checked: 413 body over the limit (chunked
bodies too); 401 signature missing or wrong (an *unsigned* ``diagnostics:ping`` is answered 200:
older Bitbucket Server versions do not sign "Test connection", and a ping does nothing); 400 no
``X-Event-Key``, a body that is not JSON (or nested too deeply to parse), or a known event missing a
field; 200 ping; 202 an event we do not route (ignored); 200 a repeated delivery (the same
``X-Request-UUID`` on Cloud / ``X-Request-Id`` on Server, or the same body) or a routed delivery;
502 Jenkins did not accept a build: the build is appended to the dead-letter file with its
delivery id (``webhook replay``), the delivery is forgotten so Bitbucket's retry goes through.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from waitress.server import BaseWSGIServer, create_server
from werkzeug.exceptions import HTTPException

from ..common.errors import ConfigError
from ..common.projects import list_projects
from .bitbucket import PING_EVENTS, parse_delivery
from .deadletter import DeadLetters
from .errors import DeliveryError, JenkinsTriggerError, PayloadError
from .jenkins_api import JenkinsClient, JenkinsSettings, build_parameters
from .logs import log
from .recent import RecentKeys
from .routing import Decision, route_events
from .rules import DEFAULT_RULES_PATH, RoutingRules, load_rules
from .signature import verify

DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # Bitbucket bodies are far smaller; anything bigger is not Bitbucket
SECRET_ENV = "BITBUCKET_WEBHOOK_SECRET"


def require_secret(secret: bytes) -> bytes:
    """The webhook secret, unless it is empty or only whitespace (then every signature check would be moot)."""
    if not secret.strip():
        raise ConfigError(f"{SECRET_ENV} is not set (or is blank): the receiver refuses unsigned webhooks")
    return secret


@dataclass
class ReceiverConfig:
    secret: bytes = field(repr=False)
    rules: RoutingRules
    projects: tuple[str, ...]
    dead_letters: DeadLetters
    trigger: Callable[[Mapping[str, str]], str]  # queues one build, returns its queue URL
    state: Path  # SQLite file of the de-duplication memory
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    deliveries: RecentKeys = field(init=False)  # delivery ids and body hashes, 24 h
    deployments: RecentKeys = field(init=False)  # (environment, action, commit), 15 min

    def __post_init__(self) -> None:
        require_secret(self.secret)
        for rule in self.rules.rules:
            unknown = sorted(set(rule.projects or ()) - set(self.projects))
            if unknown:
                raise ConfigError(f"routing rule '{rule.name}': projects: unknown project(s) {', '.join(unknown)}")
        self.deliveries = RecentKeys(self.state, "delivery", max_keys=10_000, ttl_seconds=24 * 3600)
        self.deployments = RecentKeys(self.state, "deployment", max_keys=10_000, ttl_seconds=15 * 60)


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
    # One byte over the limit may be read, so that a streamed (chunked) body over it is seen as such:
    # werkzeug stops a stream quietly at the limit instead of refusing it.
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes + 1

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
        return Response("ok", mimetype="text/plain")  # nothing about rules, projects or Jenkins for the curious

    @app.post("/webhook")
    def webhook() -> Response:
        started = time.monotonic()
        event_key = (request.headers.get("X-Event-Key") or "").strip()
        delivery_id = request.headers.get("X-Request-UUID") or request.headers.get("X-Request-Id")
        fields: dict[str, Any] = {"delivery_id": delivery_id or "-", "event_key": event_key or "-",
                                  "attempt": request.headers.get("X-Attempt-Number")}
        body = request.get_data(cache=False)  # a declared length over MAX_CONTENT_LENGTH: 413 through the handler above
        if len(body) > config.max_body_bytes:
            return _reply(413, "request_entity_too_large", fields, started,
                          error=f"body larger than {config.max_body_bytes} bytes")
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
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; RecursionError: nested too deeply
            return _reply(400, "bad_request", fields, started, error="body is not JSON (or is nested too deeply)")
        try:
            delivery = parse_delivery(event_key, payload)
        except PayloadError as exc:
            return _reply(400, "bad_request", fields, started, error=str(exc))
        if delivery.status == "ignored":
            return _reply(202, "ignored", fields, started, error=f"event {event_key} is not routed")
        if not delivery_id:
            delivery_id = fields["delivery_id"] = f"local-{uuid.uuid4()}"
        # A delivery is known by its id and by its body: a resent body under a new id is a duplicate too.
        fields["body_sha256"] = hashlib.sha256(body).hexdigest()
        claimed = (f"id:{delivery_id}", f"sha256:{fields['body_sha256']}")
        if not config.deliveries.claim(*claimed):
            return _reply(200, "duplicate", fields, started, delivery_id=delivery_id)
        return _route_and_trigger(config, delivery.events, event_key, delivery_id, claimed, fields, started)

    return app


def _route_and_trigger(config: ReceiverConfig, events: Any, event_key: str, delivery_id: str, claimed: tuple[str, ...],
                       fields: dict[str, Any], started: float) -> Response:
    results = []
    failed = triggered = 0
    for decision in route_events(events, config.rules, config.projects):
        result = _summary(decision)
        results.append(result)
        deployment = decision.deployment_key()
        if deployment is None:
            result["outcome"] = "nothing"
            continue
        key = ":".join(deployment)
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
        config.deliveries.release(*claimed)
        return _reply(502, "jenkins_failed", fields, started, delivery_id=delivery_id, results=results)
    outcome = "triggered" if triggered else "nothing_to_deploy"
    return _reply(200, outcome, fields, started, delivery_id=delivery_id, results=results)


def make_receiver_server(app: Flask, host: str, port: int, max_body_bytes: int, threads: int = 4) -> BaseWSGIServer:
    """The app under waitress (port 0: any free port; read ``server.effective_port``; ``run()``, ``close()``).

    waitress reads each request whole before the app sees it, so it must enforce the body limit
    itself: over it (a declared length, or a chunked body as it arrives) it answers 413 and stops
    reading. It refuses a length equal to its setting, hence the + 1.
    """
    return create_server(app, host=host, port=port, threads=threads, max_request_body_size=max_body_bytes + 1,
                         clear_untrusted_proxy_headers=True)


def build_config(environ: Mapping[str, str], *, rules_path: Path, state: Path, dead_letter: Path, max_body_bytes: int,
                 jenkins_timeout: float, allow_http_jenkins: bool) -> ReceiverConfig:
    """The receiver's settings: secrets from ``environ`` only, the rest from the caller (CLI options).
    The secret is checked first: nothing starts without it."""
    secret = require_secret(environ.get(SECRET_ENV, "").encode())
    client = JenkinsClient(JenkinsSettings.from_env(environ, allow_http=allow_http_jenkins), timeout=jenkins_timeout)
    return ReceiverConfig(
        secret=secret, rules=load_rules(rules_path), projects=tuple(list_projects()),
        dead_letters=DeadLetters(dead_letter), trigger=client.trigger, state=state, max_body_bytes=max_body_bytes,
    )


# The receiver's settings as environment variables (the CLI options read the same ones).
ENV_SETTINGS = {
    "rules_path": ("WEBHOOK_RULES", Path, DEFAULT_RULES_PATH),
    "state": ("WEBHOOK_STATE", Path, Path("webhook-state.sqlite3")),
    "dead_letter": ("WEBHOOK_DEAD_LETTER", Path, Path("webhook-dead-letter.jsonl")),
    "max_body_bytes": ("WEBHOOK_MAX_BODY_BYTES", int, DEFAULT_MAX_BODY_BYTES),
    "jenkins_timeout": ("WEBHOOK_JENKINS_TIMEOUT", float, 10.0),
    "allow_http_jenkins": ("WEBHOOK_ALLOW_HTTP_JENKINS", lambda v: v.strip().lower() in ("1", "true", "yes"), False),
}


def create_app_from_env(environ: Mapping[str, str] | None = None) -> Flask:
    """App factory for any WSGI server, configured from the environment alone, e.g.
    ``waitress-serve --max-request-body-size=1048577 --call deploy.delivery.receiver:create_app_from_env``."""
    environ = os.environ if environ is None else environ
    options: dict[str, Any] = {}
    for option, (name, parse, default) in ENV_SETTINGS.items():
        raw = environ.get(name, "").strip()
        try:
            options[option] = parse(raw) if raw else default
        except ValueError:
            raise DeliveryError(f"{name}: not a valid {getattr(parse, '__name__', 'value')}: {raw!r}") from None
    return create_app(build_config(environ, **options))
