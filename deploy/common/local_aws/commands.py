"""`local` CLI group: start, status, stop the local AWS server (register with cli.add_command(local))."""

from __future__ import annotations

import time
from pathlib import Path

import click

from deploy.common.local_aws.admin import LocalAwsError
from deploy.common.local_aws.manager import ensure_running, status, stop

_STATE_DIR = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the server's state file and log live (default: $PIPELINE_DEPLOYER_LOCAL_DIR or <repo>/.local-aws).",
)


@click.group("local")
def local() -> None:
    """The embedded local AWS (moto server plus our extensions) used by --env local."""


@local.command("start")
@_STATE_DIR
def start_cmd(state_dir: Path | None) -> None:
    """Start the local AWS server, or reuse the running one."""
    try:
        endpoint = ensure_running(state_dir)
    except LocalAwsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"local AWS running at {endpoint}")


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
