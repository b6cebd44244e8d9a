"""The command line: ``python deploy.py --config config/dev.json --region us-east-2 --project-type fpac``.

Without a subcommand it deploys (plan, confirm, apply), as the brief's example does. ``plan``
exits 0 when nothing would change, 2 when something would, 1 on error (Terraform's
``-detailed-exitcode``), so Jenkins can branch on it.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from . import __version__
from .common.errors import DeployerError

if TYPE_CHECKING:
    from .common.preparation import Prepared
    from .common.fleet import Member
    from .common.plan import Plan

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
CONFIG_HELP = "Environment config file, e.g. config/dev.json (relative paths are read from the current folder)."


# Commands that live with their subsystem: imported only when named, so ``--help`` and ``validate`` never load
# Flask, waitress, requests or moto. name -> (module, attribute, the one-line help ``--help`` shows).
LAZY_COMMANDS = {
    "local": ("deploy.local_aws.commands", "local", "The embedded local AWS (moto server plus our extensions), the endpoint config/local.json deploys to."),
    "route": ("deploy.delivery.cli", "route", "Decide which environment a git event deploys to, and print why."),
    "webhook": ("deploy.delivery.cli", "webhook", "The Bitbucket webhook receiver that triggers Jenkins."),
}


class DefaultToDeploy(click.Group):
    """``deploy.py --config ...`` (options first, no subcommand) means ``deploy.py deploy --config ...``.

    Subsystem commands are loaded on first use (click's documented lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            import importlib

            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but a lazy command's help comes from LAZY_COMMANDS: listing must not import it."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, LAZY_COMMANDS[name][2]))
            elif not (command := self.commands[name]).hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0].startswith("-") and args[0] not in ("--help", "-h", "--version"):
            args = ["deploy", *args]
        return super().parse_args(ctx, args)


def fail(message: str, output: str = "text") -> None:
    """One line on stderr (and a JSON error object on stdout in JSON mode), exit 1."""
    from rich.console import Console
    from rich.markup import escape

    if output == "json":
        click.echo(json.dumps({"error": message}))
    # escape: a message may quote AWS's patterns, e.g. [a-zA-Z], which rich would take for markup and drop
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    sys.exit(EXIT_ERROR)


def target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    @click.option("--config", "config_path", required=True, type=click.Path(path_type=Path, dir_okay=False), help=CONFIG_HELP)
    @click.option("--region", default=None, help="AWS region; must be one the config lists (default: the config's only region).")
    @click.option("--project-type", "project", required=True, help="The pipeline to deploy, e.g. fpac (see `deploy.py projects`).")
    @click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
                  help="json: the plan and result as one JSON document on stdout.")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return func(*args, **kwargs)
        except DeployerError as exc:
            fail(str(exc), kwargs.get("output", "text"))
        except (ClientError, BotoCoreError) as exc:  # a call outside the engine's own handling (lock, record, ...)
            fail(f"AWS call failed: {exc}", kwargs.get("output", "text"))

    return wrapper


@click.group(cls=DefaultToDeploy, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="pipeline-deployer")
def cli() -> None:
    """Deploy AWS data pipelines (Lambda, Glue jobs and crawlers, Step Functions, IAM) with boto3.

    \b
    Typical use:
      deploy.py plan   --config config/dev.json --region us-east-2 --project-type fpac
      deploy.py deploy --config config/dev.json --region us-east-2 --project-type fpac --yes
      deploy.py --config config/local.json --project-type fpac --yes      (deploy is the default)
      deploy.py run    --config config/local.json --project-type fpac --input sample.csv

    Every run validates the config and the project before any AWS call, checks that the
    credentials belong to the config's account, shows a plan, and changes only what differs.
    """


PROJECTS_HELP = " (several projects: a comma-separated list, or all for every project the config names)"


def connected(targets: list[Prepared], credential: str = "deploy", adopt: tuple[str, ...] = ()) -> list[Member]:
    """An engine for each part of the run (one project, or the shared resources and each project), over shared clients."""
    from .common.preparation import connect_all
    from .common.fleet import Member

    return [Member(p, engine) for p, engine in zip(targets, connect_all(targets, credential=credential, adopt=adopt))]


def plans_json(members: list[Member]) -> dict[str, Any]:
    """One project: {"plan": …}, as always; several: {"plans": {project: …}}."""
    if len(members) == 1:
        return {"plan": members[0].plan.to_json()}
    return {"plans": {m.name: m.plan.to_json() for m in members}}


@cli.command()
@target_options
def plan(config_path: Path, region: str | None, project: str, output: str) -> None:
    """Show what deploy would change. Makes no writes. Exit 0: no changes, 2: changes, 1: error."""
    from .common.preparation import prepare_targets
    from .common.fleet import plan_all
    from .common.render import Renderer

    members = connected(prepare_targets(config_path, region, project), credential="plan")
    plan_all(members, lambda m: m.engine.plan(m.prepared.specs))
    if output == "json":
        click.echo(json.dumps(plans_json(members), indent=2))
    else:
        for member in members:
            Renderer().plan(member.plan)
    sys.exit(EXIT_CHANGES if any(m.plan.has_changes for m in members) else EXIT_OK)


APPROVED_PLAN = click.option(
    "--approved-plan", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="A `plan --output json` file that was reviewed: apply only if the fresh plan makes exactly those changes.")


@cli.command()
@target_options
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (for Jenkins and scripts).")
@APPROVED_PLAN
@click.option("--adopt", "adopt", multiple=True, metavar="KIND:NAME",
              help="Take over a resource whose tags name another project or environment (the plan shows it as a conflict).")
def deploy(config_path: Path, region: str | None, project: str, output: str, yes: bool, approved_plan: Path | None,
           adopt: tuple[str, ...]) -> None:
    """Plan, confirm, apply. A second run with nothing changed makes no writes and says so.

    With several projects: their plans are shown together, one confirmation; the shared resources (the
    artifact bucket, the permissions boundary) are applied first, then every project in parallel."""
    from .common.preparation import prepare_targets
    from .common.fleet import plan_all

    approved = load_approved_plan(approved_plan) if approved_plan else None
    members = connected(prepare_targets(config_path, region, project), adopt=adopt)
    plan_all(members, lambda m: m.engine.plan(m.prepared.specs))
    check_and_apply(members, output, yes, approved, approved_plan, config_path)


def check_and_apply(members: list[Member], output: str, yes: bool, approved: dict[str, Any] | None,
                    approved_path: Path | None, config_path: Path) -> None:
    from .common.plan import check_approved

    if approved is not None:
        if len(members) == 1:
            check_approved(members[0].plan, approved.get("plan", {}), str(approved_path))
        else:
            approved_plans = approved.get("plans", {})
            for member in members:
                check_approved(member.plan, approved_plans.get(member.name, {"project": None}), str(approved_path))
    apply_confirmed(members, output, yes, lambda: click.confirm("Apply these changes?", default=False), config_path)


@cli.command()
@target_options
@click.option("--yes", "-y", is_flag=True, help="Destroy without asking (for scripts).")
def destroy(config_path: Path, region: str | None, project: str, output: str, yes: bool) -> None:
    """Delete everything this project owns in the environment (per the record and ownership tags).

    Buckets and the Glue database are kept (they hold data) and listed as notes; so is the shared
    artifact bucket, which holds the record; so are the shared resources of a run of several projects.
    """
    from .common.preparation import prepare_targets
    from .common.fleet import plan_all

    targets = [t for t in prepare_targets(config_path, region, project) if t.context.settings is not None]
    members = connected(targets)

    def nothing_wanted(member: Member) -> Plan:
        the_plan = member.engine.plan([])
        the_plan.operation = "destroy"
        return the_plan

    plan_all(members, nothing_wanted)
    environment = targets[0].config.environment
    apply_confirmed(members, output, yes,
                    lambda: click.prompt(f"Type the environment name ({environment}) to destroy", default="") == environment,
                    config_path)


def apply_confirmed(members: list[Member], output: str, yes: bool, confirm: Callable[[], bool], config_path: Path) -> None:
    """Show the plans; when any has changes, confirm (or --yes), apply, summarise each. Exit 1 if an apply failed or
    was refused, or a lock could not be released."""
    from rich.console import Console
    from rich.markup import escape

    from .common.fleet import apply_all
    from .common.render import Renderer

    console = Console(stderr=output == "json", highlight=False, soft_wrap=True)
    several = len(members) > 1
    renderers = {m.name: Renderer(console, prefix=m.name if several else "") for m in members}
    for member in members:
        renderers[member.name].plan(member.plan)
    if any(m.plan.has_changes for m in members):
        if not yes:
            if not sys.stdin.isatty():
                raise DeployerError("refusing to apply without confirmation: pass --yes when not running in a terminal")
            if not confirm():
                raise DeployerError("cancelled; nothing was changed")
        apply_all(members, lambda m: renderers[m.name].event)
        for member in members:
            if member.result is not None:
                renderers[member.name].summary(member.result)
    if output == "json":
        results = {m.name: m.result.to_json() if m.result else {"ok": not m.error, "results": [],
                                                                **({"error": m.error} if m.error else {})} for m in members}
        document = ({"plan": members[0].plan.to_json(), "result": results[members[0].name]} if not several else
                    {"plans": {m.name: m.plan.to_json() for m in members}, "results": results})
        click.echo(json.dumps(document, indent=2))
    for member in members:
        if member.result is not None and member.result.lock_left:
            lock_id, why = member.result.lock_left
            hint = f"--config {config_path} --project-type {member.name}"
            fail(f"{member.name}: the {member.plan.operation} {'succeeded' if member.result.ok else 'failed'} "
                 f"(history {member.result.history_id}), but its lock could not be released ({why}); release it with: "
                 f"deploy.py unlock {hint} --lock-id {lock_id}", output)
    errors = [m for m in members if m.error]
    if errors and not several:
        fail(errors[0].error, output)
    for member in errors:
        console.print(f"[bold red]error:[/] {escape(member.name)}: {escape(member.error)}")
    if errors or any(m.result is not None and not m.result.ok for m in members):
        sys.exit(EXIT_ERROR)


def load_approved_plan(path: Path) -> dict[str, Any]:
    from .common.config import read_json_file

    document = read_json_file(path, what="approved plan")
    if not isinstance(document, dict) or not (isinstance(document.get("plan"), dict) or isinstance(document.get("plans"), dict)):
        raise DeployerError(f"{path}: not a plan file (expected the output of `plan --output json`)")
    return document


@cli.command()
@target_options
def validate(config_path: Path, region: str | None, project: str, output: str) -> None:
    """Validate the config and the project's definitions (workflow and IAM lint included). Makes no AWS call."""
    from .common.preparation import prepare_targets

    targets = prepare_targets(config_path, region, project)
    if output == "json":
        counts = {t.project: len(t.specs) for t in targets}
        click.echo(json.dumps({"valid": True, "resources": sum(counts.values()), **({"projects": counts} if len(targets) > 1 else {})}))
        return
    for t in targets:
        what = "the shared resources" if t.context.settings is None else t.project
        click.echo(f"{config_path}: valid; {what}: {len(t.specs)} resources for {t.config.environment} in {t.region}")


@cli.command("deployer-policy")
@target_options
@click.option("--for", "purpose", type=click.Choice(["plan", "deploy", "run"]), default="deploy", show_default=True,
              help="plan: reads only; deploy: the writes of deploy and destroy; run: the smoke run. "
                   "A deploy or run credential also needs the plan policy (both plan first).")
@click.option("--part", type=click.IntRange(min=1), default=None,
              help="When the policy is more than one managed policy holds (6,144 characters): which part to print.")
def deployer_policy_command(config_path: Path, region: str | None, project: str, output: str, purpose: str,
                            part: int | None) -> None:
    """Print an IAM policy the deployer itself needs for this project, environment and region (no AWS call).

    \b
    Three credentials, three managed policies (each at most 6,144 characters; a bigger one is printed in parts,
    --part 1, 2, …, each a managed policy to attach):
      plan    reads only; it can never write
      deploy  the writes of deploy and destroy: attach with plan
      run     the smoke run (upload, follow, read the run record): attach with plan

    Role writes need the environment's permissions boundary, roles are passed only to the service they
    trust, and the boundary can be created but never changed. Derived from the same specs as the plan,
    linted with parliament and its community auditors.
    """
    from .common.deployer_policy import ACCEPTED_FINDINGS, MANAGED_POLICY_CHARS, deployer_policy, policy_size, split_policy
    from .common.preparation import prepare
    from .common.iam_policies import check_policies
    from .common.projects import load_project

    prepared = prepare(config_path, region, project)
    module = load_project(project)
    run_target = module.run_target(prepared.context) if hasattr(module, "run_target") else None
    if purpose == "run" and run_target is None:
        raise DeployerError(f"project '{project}' defines no run_target(ctx); it has no run policy")
    document = deployer_policy(purpose, prepared, run_target)  # type: ignore[arg-type]
    check_policies([(f"deployer-{purpose}", {purpose: document})], accepted=ACCEPTED_FINDINGS, community=True)
    parts = split_policy(document)
    size = policy_size(document)
    where = f"{project} in {prepared.config.environment} ({prepared.region})"
    if part is None and len(parts) > 1:
        raise DeployerError(f"deployer-policy --for {purpose}: {where} needs {size} characters, more than one managed policy "
                            f"holds ({MANAGED_POLICY_CHARS}); print its {len(parts)} parts with --part 1 to --part {len(parts)} "
                            "and attach them all")
    if part is not None and not 1 <= part <= len(parts):
        raise DeployerError(f"deployer-policy --for {purpose}: --part {part}: {where} has {len(parts)} part(s)")
    click.echo(json.dumps(parts[(part or 1) - 1], indent=2))


@cli.command()
def projects() -> None:
    """List the deployable projects."""
    from .common.projects import list_projects

    for name in list_projects():
        click.echo(name)


@cli.command()
@click.option("--check", is_flag=True, help="Exit 1 if the checked-in schema is not what the models generate.")
def schema(check: bool) -> None:
    """Write deploy/config/config.schema.json from the config models (for editor completion)."""
    from .common.schema import SCHEMA_PATH, schema_text

    text = schema_text()
    if check:
        if not SCHEMA_PATH.is_file() or SCHEMA_PATH.read_text() != text:
            fail(f"{SCHEMA_PATH} is out of date; run: deploy.py schema")
        click.echo(f"{SCHEMA_PATH} is up to date")
        return
    SCHEMA_PATH.write_text(text)
    click.echo(f"wrote {SCHEMA_PATH}")


@cli.command()
@target_options
@click.option("--lock-id", required=True, help="The id printed by the error that reported the lock.")
def unlock(config_path: Path, region: str | None, project: str, output: str, lock_id: str) -> None:
    """Release a deployment lock left by a deployment that died (Terraform's force-unlock)."""
    from .common.preparation import connect, prepare
    from .common.lock import release_lock

    prepared = prepare(config_path, region, project)
    engine = connect(prepared)
    release_lock(engine.clients, prepared.record, lock_id)
    click.echo(f"released lock {lock_id} of {project}/{prepared.config.environment}")


@cli.command()
@target_options
@click.argument("words", nargs=-1, metavar="[show ID]")
@click.option("--limit", default=20, show_default=True, help="How many of the newest entries to list.")
def history(config_path: Path, region: str | None, project: str, output: str, words: tuple[str, ...], limit: int) -> None:
    """Who deployed what, when, from which commit: the newest deployments, or `history show ID` for one in full."""
    from .common.preparation import connect, prepare
    from .common.history import load_entry, recent_entries
    from .common.render import Renderer

    if words and (words[0] != "show" or len(words) != 2):
        raise click.UsageError("expected no argument (the list) or: show ID")
    prepared = prepare(config_path, region, project)
    engine = connect(prepared, credential="plan")  # reads only
    renderer = Renderer()
    if words:
        entry = load_entry(engine.clients, prepared.record, words[1])
        click.echo(json.dumps(entry.to_json(), indent=2, default=str)) if output == "json" else renderer.history_entry(entry)
        return
    entries = recent_entries(engine.clients, prepared.record, limit)
    if output == "json":
        click.echo(json.dumps([{k: v for k, v in e.to_json().items() if k not in ("start", "changes", "end")}
                               for e in entries], indent=2, default=str))
    else:
        renderer.history(entries, f"{project} in {prepared.config.environment} ({prepared.region})")


@cli.command()
@target_options
@click.option("--to", "entry_id", required=True, help="The history entry to go back to (see `deploy.py history`).")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option("--plan-only", is_flag=True, help="Show (or with --output json, write) the rollback plan; change nothing. "
                                                "Exit 0: nothing to roll back, 2: changes.")
@APPROVED_PLAN
def rollback(config_path: Path, region: str | None, project: str, output: str, entry_id: str, yes: bool, plan_only: bool,
             approved_plan: Path | None) -> None:
    """Serve again what a past deployment deployed: Lambda aliases back to their recorded versions (no upload),
    Glue scripts to their recorded S3 versions, the other resources to their recorded settings."""
    from .common.preparation import connect, prepare
    from .common.history import load_entry
    from .common.render import Renderer
    from .common.rollback import rollback_plan

    approved = load_approved_plan(approved_plan) if approved_plan else None
    prepared = prepare(config_path, region, project)
    engine = connect(prepared, credential="plan" if plan_only else "deploy")
    the_plan = rollback_plan(engine, load_entry(engine.clients, prepared.record, entry_id))
    if plan_only:
        click.echo(json.dumps({"plan": the_plan.to_json()}, indent=2)) if output == "json" else Renderer().plan(the_plan)
        sys.exit(EXIT_CHANGES if the_plan.has_changes else EXIT_OK)
    from .common.fleet import Member

    check_and_apply([Member(prepared, engine, the_plan)], output, yes, approved, approved_plan, config_path)


@cli.command()
@target_options
def drift(config_path: Path, region: str | None, project: str, output: str) -> None:
    """Compare what is live with what the last successful deployment deployed, field by field.

    Exit 0: no drift, 2: drift (for a scheduled Jenkins job), 1: error or no successful deployment yet."""
    from .common.preparation import connect, prepare
    from .common.history import last_successful
    from .common.render import Renderer
    from .common.rollback import drift as find_drift

    prepared = prepare(config_path, region, project)
    engine = connect(prepared, credential="plan")  # reads only
    entry = last_successful(engine.clients, prepared.record)
    if entry is None:
        raise DeployerError(f"{project}/{prepared.config.environment}: no successful deployment in the history to compare with")
    changes = find_drift(engine, entry)
    if output == "json":
        click.echo(json.dumps({"compared_with": entry.id, "drift": [c.to_json() for c in changes]}, indent=2))
    else:
        Renderer().drift(changes, entry.id)
    sys.exit(EXIT_CHANGES if changes else EXIT_OK)


@cli.command()
@target_options
@click.option("--input", "input_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The file to feed the pipeline (e.g. projects/fpac_pipeline/sample_data/fpac_payments_good.csv).")
@click.option("--timeout", default=1800, show_default=True, help="Seconds to wait for the execution to finish.")
def run(config_path: Path, region: str | None, project: str, output: str, input_path: Path, timeout: int) -> None:
    """Upload a file where the pipeline's trigger watches, follow the execution state by state, print the report.

    The project must be deployed and up to date (deploy first). Exit 0 when the execution
    succeeds, 1 when it fails (the report says which stage and why).
    """
    from .common.preparation import connect, prepare
    from rich.console import Console

    from .common.pipeline_run import run_pipeline
    from .common.projects import load_project
    from .common.render import Renderer

    if not input_path.is_file():
        raise DeployerError(f"--input: file not found: {input_path}")
    prepared = prepare(config_path, region, project)
    module = load_project(project)
    if not hasattr(module, "run_target"):
        raise DeployerError(f"project '{project}' defines no run_target(ctx); it cannot be run from here")
    engine = connect(prepared, credential="run")
    pending = engine.plan(prepared.specs)
    if pending.has_changes:
        raise DeployerError(f"{project} in {prepared.config.environment} differs from the code ({pending.summary_line}); "
                            "run deploy first")
    renderer = Renderer(Console(stderr=output == "json", highlight=False, soft_wrap=True))
    result = run_pipeline(engine.clients, module.run_target(prepared.context), input_path, renderer.execution_event,
                          run_timeout=timeout)
    if output == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    renderer.run_summary(result, getattr(module, "summarize_run", None))
    if not result.succeeded:
        sys.exit(EXIT_ERROR)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="deploy.py", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return EXIT_OK
