"""`local` CLI group: start, status, stop the local AWS server (register with cli.add_command(local))."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from deploy.local_aws.admin import LocalAwsError, set_realism
from deploy.local_aws.manager import ensure_running, status, stop

_STATE_DIR = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the server's state file and log live (default: $PIPELINE_DEPLOYER_LOCAL_DIR or <repo>/.local-aws).",
)


@click.group("local")
def local() -> None:
    """The embedded local AWS (moto server plus our extensions), the endpoint config/local.json deploys to."""


def _realism_overrides(value: str) -> dict:
    """'on', 'off', or a JSON object of realism settings (see docs/local-aws.md, Realism)."""
    if value in ("on", "off"):
        return {"enabled": value == "on"}
    try:
        overrides = json.loads(value)
    except ValueError:
        overrides = None
    if not isinstance(overrides, dict):
        raise click.BadParameter("must be 'on', 'off' or a JSON object such as '{\"iam_propagation_seconds\": 10}'")
    return overrides


@local.command("start")
@_STATE_DIR
@click.option("--realism", default=None, metavar="on|off|JSON",
              help="AWS's delays and refusals (on by default): 'off', 'on', or settings as JSON, e.g. "
                   "'{\"iam_propagation_seconds\": 10}'. Applies to the running server too.")
def start_cmd(state_dir: Path | None, realism: str | None) -> None:
    """Start the local AWS server, or reuse the running one."""
    overrides = _realism_overrides(realism) if realism is not None else None
    try:
        endpoint = ensure_running(state_dir)
        if overrides is not None:
            settings = set_realism(endpoint, overrides)
    except LocalAwsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"local AWS running at {endpoint}")
    if overrides is not None:
        click.echo("realism " + ("on: " + ", ".join(f"{k}={v}" for k, v in settings.items() if k.endswith("seconds"))
                                 if settings["enabled"] else "off"))


@local.command("status")
@_STATE_DIR
def status_cmd(state_dir: Path | None) -> None:
    """Show whether the local AWS server runs (exit code 1 if it does not)."""
    current = status(state_dir)
    if current is None:
        click.echo("local AWS is not running")
        raise SystemExit(1)
    if not current["healthy"]:
        click.echo(f"local AWS (pid {current['pid']}) is not answering at {current['endpoint']}; "
                   f"see {current.get('log_path')}")
        raise SystemExit(1)
    uptime = int(time.time() - float(current.get("started_at", time.time())))
    click.echo(f"local AWS running at {current['endpoint']} (pid {current['pid']}, moto {current.get('moto')}, "
               f"up {uptime}s, log {current.get('log_path')})")


@local.command("stop")
@_STATE_DIR
def stop_cmd(state_dir: Path | None) -> None:
    """Stop the local AWS server (all local resources are lost)."""
    if stop(state_dir):
        click.echo("local AWS stopped")
    else:
        click.echo("local AWS was not running")
