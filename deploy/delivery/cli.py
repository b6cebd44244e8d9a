"""Click commands of git-driven delivery: ``route`` and ``webhook serve|replay``.

The main CLI registers them with ``cli.add_command(route)`` and ``cli.add_command(webhook)``.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import click

from ..common.errors import DeployerError
from .bitbucket import parse_delivery
from .deadletter import DeadLetters
from .errors import DeliveryError
from .events import EVENT_KINDS, GitEvent, manual_event
from .gitrepo import GitRepo
from .jenkins_api import JenkinsClient, JenkinsSettings
from .jenkins_env import event_from_jenkins_env
from .logs import configure_json_logging, log
from .receiver import ENV_SETTINGS, build_config, create_app, make_receiver_server
from .render import decisions_json, decisions_text
from .routing import Decision, limit_to_changed, limit_to_configured, projects_touched, route_events
from .rules import load_rules
from .trust import (DEFAULT_TRUSTED_REF, PROJECTS_IN_REPO, TRUSTED_REF_ENV, RulesSource, check_on_ref, load_trusted_rules,
                    mark_trusted_commit, note_own_rules)


def _fail(exc: Exception) -> NoReturn:
    raise click.ClickException(str(exc)) from None


class _LazyRepo:
    """Open the clone only if a git question is asked (most routes need none)."""

    def __init__(self, path: Path):
        self.path = path
        self._repo: GitRepo | None = None

    def __call__(self) -> GitRepo:
        if self._repo is None:
            self._repo = GitRepo(self.path)
        return self._repo


def _read_events(from_jenkins: bool, bitbucket_event: str | None, payload: Any, kind: str | None,
                 ref: str | None, target: str | None, commit: str | None) -> tuple[str, list[GitEvent], str | None]:
    chosen = [name for name, on in (("--jenkins", from_jenkins), ("--bitbucket-event", bitbucket_event), ("--event", kind)) if on]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one source: --jenkins, --bitbucket-event KEY --payload FILE, or --event KIND ...")
    if from_jenkins:
        return "jenkins", [event_from_jenkins_env(os.environ)], None
    if bitbucket_event:
        if payload is None:
            raise click.UsageError("--bitbucket-event needs --payload FILE (or - for stdin)")
        try:
            data = json.load(payload)
        except (ValueError, RecursionError):
            raise DeliveryError(f"--payload: {payload.name} is not JSON (or nested too deeply)") from None
        delivery = parse_delivery(bitbucket_event, data)
        note = {"ping": f"nothing to deploy for {bitbucket_event}: a ping",
                "ignored": f"nothing to deploy for {bitbucket_event}: this event is not routed"}.get(delivery.status)
        if delivery.status == "events" and not delivery.events:
            note = f"nothing to deploy for {bitbucket_event}: the delivery carries no ref change"
        return f"bitbucket {bitbucket_event}", list(delivery.events), note
    event = manual_event(kind or "", ref or "", commit or "", target)
    # A tag's hash handed over by the receiver may be the annotated tag object: let git peel it.
    return "parameters", [replace(event, commit_is_peeled=event.kind != "tag")], None


def _peel(events: list[GitEvent], repo: Callable[[], GitRepo]) -> list[GitEvent]:
    return [
        replace(e, commit=repo().peel(e.commit), commit_is_peeled=True) if e.commit and not e.commit_is_peeled else e
        for e in events
    ]


def _vouch(decision: Decision, repo: Callable[[], GitRepo], rules_source: RulesSource) -> Decision:
    """Believe a decision only as far as git agrees (see ``trust``); DeliveryError when it does not."""
    if decision.commit and rules_source.commit:
        decision = note_own_rules(decision, repo(), rules_source)
    if decision.deploy:
        check_on_ref(decision.event, repo())
        decision = mark_trusted_commit(decision, repo(), rules_source)
    return decision


def _configured(decision: Decision, repo: Callable[[], GitRepo]) -> Decision:
    """Narrow to the projects the environment's config names, as that config is at the routed commit."""
    if not decision.deploy or not decision.commit:
        return decision
    text = repo().show(decision.commit, f"deploy/{decision.config}")
    if text is None:
        raise DeliveryError(f"{decision.config}: not in commit {decision.commit}, but routing rule '{decision.rule}' "
                            f"deploys to {decision.environment} with it")
    try:
        projects = json.loads(text).get("projects") or {}
    except (ValueError, AttributeError):
        raise DeliveryError(f"{decision.config} at {decision.commit}: not a JSON object") from None
    return limit_to_configured(decision, sorted(projects))


def _limit(decision: Decision, since: str, repo: Callable[[], GitRepo]) -> Decision:
    if not decision.deploy or not decision.commit:
        return decision
    folders = {name: f"{PROJECTS_IN_REPO}/{name}_pipeline" for name in decision.projects}
    return limit_to_changed(decision, projects_touched(repo().changed_paths(since, decision.commit), folders), since)


@click.command("route")
@click.option("--jenkins", "from_jenkins", is_flag=True,
              help="Decide from the Jenkins multibranch variables (BRANCH_NAME, TAG_NAME, CHANGE_*, GIT_COMMIT).")
@click.option("--bitbucket-event", metavar="KEY", help="Decide from a Bitbucket webhook: its X-Event-Key (body from --payload).")
@click.option("--payload", type=click.File("rb"), help="Bitbucket webhook body: a file, or - for stdin.")
@click.option("--event", "kind", type=click.Choice(EVENT_KINDS),
              help="Decide from an explicit event (the webhook-triggered build's parameters).")
@click.option("--ref", help="With --event: branch, tag, or pull request source branch.")
@click.option("--target", help="With --event pull_request*: the target branch.")
@click.option("--commit", help="With --event: the commit.")
@click.option("--trusted-ref", envvar=TRUSTED_REF_ENV, default=DEFAULT_TRUSTED_REF, show_default=True,
              help=f"The ref whose deploy/config/routing.json decides (env {TRUSTED_REF_ENV}); never the commit's own.")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Decide with this rules file instead of the trusted ref's (to try rules out; the pipeline never passes it).")
@click.option("--changed-since", metavar="COMMIT",
              help="Only projects whose folder changed between COMMIT and the routed commit.")
@click.option("--expect-environment", metavar="ENV",
              help="Fail unless the decision deploys to ENV (guards webhook-triggered builds).")
@click.option("--repo", "repo_path", type=click.Path(path_type=Path, file_okay=False), default=".",
              help="The git clone holding the trusted ref and the event's commits.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def route(from_jenkins: bool, bitbucket_event: str | None, payload: Any, kind: str | None, ref: str | None, target: str | None,
          commit: str | None, trusted_ref: str, rules_path: Path | None, changed_since: str | None,
          expect_environment: str | None, repo_path: Path, output: str) -> None:
    """Decide which environment a git event deploys to, and print why. Exit 0 also when nothing is to deploy.

    The rules come from the trusted ref, and every deploying event is checked against git: its
    commit must be on its branch (a tag must point at it). Exit 1 otherwise."""
    try:
        source, events, note = _read_events(from_jenkins, bitbucket_event, payload, kind, ref, target, commit)
        repo = _LazyRepo(repo_path)
        if rules_path is not None:
            rules, rules_source = load_rules(rules_path), RulesSource(file=str(rules_path))
        else:
            rules, rules_source = load_trusted_rules(repo(), trusted_ref)
        decisions = route_events(_peel(events, repo), rules, lambda c: repo().projects_at(c, PROJECTS_IN_REPO),
                                 branch_check=lambda c, b: repo().is_on_branch(c, b))
        decisions = [_configured(_vouch(d, repo, rules_source), repo) for d in decisions]
        if changed_since:
            decisions = [_limit(d, changed_since, repo) for d in decisions]
    except DeployerError as exc:
        _fail(exc)
    render = decisions_json if output == "json" else decisions_text
    click.echo(render(source, decisions, note, rules_source))
    if expect_environment:
        deploying = [d for d in decisions if d.deploy]
        if not deploying or any(d.environment != expect_environment for d in deploying):
            got = ", ".join(sorted({d.environment or "" for d in deploying})) or "nothing"
            _fail(DeliveryError(f"--expect-environment {expect_environment}: the rules route this event to {got}"))


@click.group("webhook")
def webhook() -> None:
    """The Bitbucket webhook receiver that triggers Jenkins."""


def _env_option(*names: str, setting: str, **kwargs: Any) -> Callable[[Any], Any]:
    """A click option reading the same environment variable, with the same default, as the app factory."""
    envvar, _, default = ENV_SETTINGS[setting]
    return click.option(*names, setting, envvar=envvar, default=default, show_default=True, **kwargs)


_DEAD_LETTER_OPTION = _env_option("--dead-letter", setting="dead_letter", type=click.Path(path_type=Path, dir_okay=False),
                                  help="JSON Lines file of failed Jenkins triggers (env WEBHOOK_DEAD_LETTER).")
_TIMEOUT_OPTION = _env_option("--jenkins-timeout", setting="jenkins_timeout", type=click.FloatRange(min=0.1), help="Seconds.")
_ALLOW_HTTP_OPTION = click.option(
    "--allow-http-jenkins", "allow_http_jenkins", is_flag=True, envvar=ENV_SETTINGS["allow_http_jenkins"][0],
    help="Accept an http:// JENKINS_URL (a local or test Jenkins only: the API token would travel in clear).",
)


@webhook.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (put a TLS reverse proxy in front).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0 picks a free port.")
@_env_option("--rules", setting="rules_path", type=click.Path(path_type=Path, dir_okay=False), help="Routing rules file.")
@_env_option("--state", setting="state", type=click.Path(path_type=Path, dir_okay=False),
             help="SQLite file of the de-duplication memory (local disk; receivers on one host may share it).")
@_DEAD_LETTER_OPTION
@_env_option("--max-body-bytes", setting="max_body_bytes", type=click.IntRange(min=1024),
             help="Larger bodies (chunked ones too) are refused with 413.")
@_TIMEOUT_OPTION
@_ALLOW_HTTP_OPTION
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="waitress worker threads.")
def serve(host: str, port: int, rules_path: Path, state: Path, dead_letter: Path, max_body_bytes: int, jenkins_timeout: float,
          allow_http_jenkins: bool, threads: int) -> None:
    """Serve POST /webhook and GET /healthz with waitress. Secrets come from the environment only:
    BITBUCKET_WEBHOOK_SECRET, JENKINS_URL, JENKINS_USER, JENKINS_API_TOKEN, JENKINS_JOB (and JENKINS_JOB_<ENV>)."""
    configure_json_logging()
    try:
        config = build_config(os.environ, rules_path=rules_path, state=state, dead_letter=dead_letter,
                              max_body_bytes=max_body_bytes, jenkins_timeout=jenkins_timeout,
                              allow_http_jenkins=allow_http_jenkins)
        server = make_receiver_server(create_app(config), host, port, max_body_bytes, threads=threads)
    except (DeployerError, OSError) as exc:
        _fail(exc)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log(logging.INFO, "listening", host=host, port=server.effective_port, server="waitress", threads=threads,
        jenkins_job=os.environ.get("JENKINS_JOB"), state=str(state), dead_letter=str(dead_letter), rules=str(rules_path))
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.close()
        log(logging.INFO, "stopped")


@webhook.command("replay")
@click.option("--delivery-id", required=True, help="X-Request-UUID / X-Request-Id of the failed delivery (see the logs).")
@_DEAD_LETTER_OPTION
@_TIMEOUT_OPTION
@_ALLOW_HTTP_OPTION
def replay(delivery_id: str, dead_letter: Path, jenkins_timeout: float, allow_http_jenkins: bool) -> None:
    """Queue again the Jenkins builds of a delivery whose trigger failed."""
    try:
        letters = DeadLetters(dead_letter)
        pending, seen = letters.pending(delivery_id)
        if not seen:
            raise DeliveryError(f"{dead_letter}: no failed trigger recorded for delivery {delivery_id}")
        if not pending:
            click.echo(f"delivery {delivery_id}: every failed build was already replayed")
            return
        client = JenkinsClient(JenkinsSettings.from_env(allow_http=allow_http_jenkins), timeout=jenkins_timeout)
        for record in pending:
            queue_url = client.trigger(record["parameters"])
            letters.record_replay(delivery_id, record["parameters"], queue_url)
            params = record["parameters"]
            click.echo(f"replayed {record.get('event', '?')}: {params.get('ACTION')} {params.get('ENVIRONMENT')}"
                       f" at {params.get('COMMIT')} -> {queue_url or 'queued'}")
    except DeployerError as exc:
        _fail(exc)
