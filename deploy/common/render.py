"""Output for people: the plan (Terraform's legend, field by field), progress, and a summary.

Machine output (``--output json``) comes from the same Plan and ApplyResult objects.
"""
from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from .applier import ApplyResult, Outcome
from .plan import SYMBOLS, Change, Plan, jsonable

COLORS = {"create": "green", "update": "yellow", "delete": "red", "no-op": "dim", "conflict": "magenta"}
MAX_VALUE = 100


def short(value: Any) -> str:
    text = json.dumps(jsonable(value), sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def flatten_diff(old: Any, new: Any, path: str) -> list[tuple[str, Any, Any]]:
    """Nested dicts are compared key by key, so a one-line change in a policy or ASL shows as one line."""
    if isinstance(old, dict) and isinstance(new, dict):
        rows: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key) != new.get(key):
                rows.extend(flatten_diff(old.get(key), new.get(key), f"{path}.{key}"))
        return rows
    return [(path, old, new)]


def change_lines(change: Change) -> list[str]:
    color = COLORS[change.action]
    head = f"[{color}]{SYMBOLS[change.action]} {change.kind}[/] [bold]{escape(change.name)}[/]"
    if change.reason:
        head += f"  [dim]({escape(change.reason)})[/]"
    lines = [head]
    if change.action == "create":
        lines += [f"    [green]+[/] {f.field} = {escape(short(f.new))}" for f in change.fields]
    elif change.action == "update":
        for f in change.fields:
            for path, old, new in flatten_diff(f.old, f.new, f.field):
                lines.append(f"    [yellow]~[/] {escape(path)}: {escape(short(old))} [yellow]→[/] {escape(short(new))}")
    return lines


class Renderer:
    """``prefix``: the project's name on every line of progress, when several projects apply at once."""

    def __init__(self, console: Console | None = None, prefix: str = ""):
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.prefix = f"[dim]\\[{escape(prefix)}][/] " if prefix else ""

    def plan(self, plan: Plan) -> None:
        c = self.console
        c.print(f"[bold]Plan for {plan.project} in {plan.environment} ({plan.region})[/]")
        for change in plan.changes:
            if change.action != "no-op":
                for line in change_lines(change):
                    c.print(line)
        for note in plan.notes:
            c.print(f"[dim]note: {escape(note)}[/]")
        unchanged = plan.count("no-op")
        if plan.has_changes:
            c.print(f"[dim]{unchanged} resource(s) unchanged.[/]")
        c.print(f"[bold]{plan.summary_line}[/]")

    def event(self, kind: str, change: Change, outcome: Outcome | str | None) -> None:
        verb = {"create": "creating", "update": "updating", "delete": "deleting"}[change.action]
        p = self.prefix
        if kind == "start":
            self.console.print(f"  {p}… {verb} {change.kind} {escape(change.name)}")
        elif kind == "wait":
            self.console.print(f"  {p}[dim]… {change.kind} {escape(change.name)}: {escape(str(outcome))}[/]")
        elif outcome and outcome.status == "done":
            self.console.print(f"  {p}[green]✓[/] {change.action}d {change.kind} {escape(change.name)} [dim]({outcome.seconds:.1f}s)[/]")
        elif outcome:
            self.console.print(f"  {p}[red]✗[/] {change.action} {change.kind} {escape(change.name)} failed: {escape(outcome.error)}")

    def summary(self, result: ApplyResult) -> None:
        done = [o for o in result.outcomes if o.status == "done"]
        counts = {a: sum(1 for o in done if o.change.action == a) for a in ("create", "update", "delete")}
        line = f"{counts['create']} added, {counts['update']} changed, {counts['delete']} destroyed"
        if result.ok:
            self.console.print(f"{self.prefix}[bold green]Apply complete![/] {line}.")
        else:
            skipped = sum(1 for o in result.outcomes if o.status == "skipped")
            first = result.failed[0]
            self.console.print(f"{self.prefix}[bold red]Apply failed:[/] {line}; {len(result.failed)} failed, {skipped} not started. "
                               f"First failure: {first.change.kind} {escape(first.change.name)}: {escape(first.error)}. "
                               "Fix the cause and run again: the deploy converges.")

    def history(self, entries: list[Any], what: str) -> None:
        """One line per deployment, newest first: when, who, commit, + ~ -, result, duration (never truncated)."""
        self.console.print(f"[bold]Deployments of {escape(what)}[/], newest first")
        if not entries:
            self.console.print("[dim]No deployments recorded yet.[/]")
            return
        colors = {"succeeded": "green", "failed": "red", "interrupted": "red", "running": "yellow"}
        self.console.print(f"[dim]{'id':<26} {'when (UTC)':<19} {'operation':<9} {'result':<11} {'+':>3} {'~':>3} {'-':>3} "
                           f"{'took':>6}  {'commit':<10} who[/]")
        for e in entries:
            prov = e.start.get("provenance", {})
            who = (e.start.get("caller") or prov.get("user", "?")).rsplit("/", 1)[-1]
            commit = (prov.get("commit") or "?")[:10] + (f" ({prov['tag']})" if prov.get("tag") else "")
            took = "" if e.seconds is None else f"{e.seconds:.0f}s"
            counts = " ".join(f"{e.counts[a]:>3}" for a in ("create", "update", "delete"))
            self.console.print(f"{e.id:<26} {str(e.start.get('started_at', '?'))[:19].replace('T', ' '):<19} "
                               f"{e.start.get('operation', ''):<9} [{colors.get(e.status, 'white')}]{e.status:<11}[/] "
                               f"{counts} {took:>6}  {escape(commit):<10} {escape(who)}")

    def history_entry(self, entry: Any) -> None:
        c = self.console
        start, prov = entry.start, entry.start.get("provenance", {})
        c.print(f"[bold]{escape(str(start.get('operation', 'deploy')))} {entry.id}[/]: {entry.status}"
                + (f" in {entry.seconds:.1f}s" if entry.seconds is not None else ""))
        for label, value in (("started", start.get("started_at")), ("caller", start.get("caller")),
                             ("by", f"{prov.get('user', '')}@{prov.get('host', '')}"), ("commit", prov.get("commit")),
                             ("branch", prov.get("branch")), ("tag", prov.get("tag")), ("build", prov.get("build_url")),
                             ("config", f"{prov.get('config', '')} ({prov.get('config_digest', '')})"),
                             ("deployer", prov.get("deployer_version")), ("rollback to", start.get("rollback_to"))):
            if value and value.strip(" @()"):
                c.print(f"  {label:<12} {escape(str(value))}")
        outcomes = {o.get("key"): o for o in entry.changes}
        c.print("[bold]changes[/]")
        for change in start.get("plan", {}).get("changes", []):
            if change.get("action") == "no-op":
                continue
            key = f"{change['kind']}:{change['name']}"
            done = outcomes.get(key, {})
            status = done.get("status", "not recorded" if entry.status == "interrupted" else "-")
            line = f"  {SYMBOLS.get(change['action'], '?')} {key}  [dim]{', '.join(change.get('changed_fields', []))}[/]  {status}"
            if done.get("seconds") is not None:
                line += f" ({done['seconds']}s)"
            if done.get("error"):
                line += f": {escape(done['error'])}"
            c.print(line)
        snapshot = entry.snapshot
        if snapshot is not None and snapshot.pins:
            c.print("[bold]live after it[/]")
            for key, pin in sorted(snapshot.pins.items()):
                c.print(f"  {escape(key)}: {escape(json.dumps(pin))}")
        if (entry.end or {}).get("error"):
            c.print(f"[red]error:[/] {escape(entry.end['error'])}")

    def drift(self, changes: list[Change], entry_id: str) -> None:
        c = self.console
        if not changes:
            c.print(f"No drift: what is live matches what deployment {entry_id} deployed.")
            return
        c.print(f"[bold]Drift since deployment {entry_id}[/] (deployed → live):")
        for change in changes:
            for line in change_lines(change):
                c.print(line)
        c.print(f"[bold]{len(changes)} resource(s) drifted.[/]")

    def execution_event(self, event: dict[str, Any]) -> None:
        """One line per state entered, left or failed, for following an execution."""
        kind = event.get("type", "")
        stamp = event["timestamp"].strftime("%H:%M:%S") if hasattr(event.get("timestamp"), "strftime") else ""
        if kind.endswith("StateEntered"):
            self.console.print(f"  [dim]{stamp}[/] → {escape(event['stateEnteredEventDetails']['name'])}")
        elif kind.endswith("StateExited"):
            self.console.print(f"  [dim]{stamp}[/] [green]✓[/] {escape(event['stateExitedEventDetails']['name'])}")
        elif kind.endswith("Failed") or kind.endswith("TimedOut"):
            details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
            self.console.print(f"  [dim]{stamp}[/] [red]✗ {kind}[/] {escape(str(details.get('error', '')))}: "
                               f"{escape(str(details.get('cause', ''))[:300])}")

    def run_summary(self, result: Any, summarize: Any = None) -> None:
        """The execution's outcome, then the project's own account of its run record (``summarize_run(record)``
        in the project's deploy.py: lines of text), or the report states' outputs when it has none."""
        color = "green" if result.succeeded else "red"
        self.console.print(f"[bold {color}]Execution {result.status}[/] {escape(result.execution_arn)}")
        self.console.print(f"  input: {escape(result.input_uri)}")
        for state, report in result.reports.items():
            self.console.print(f"  {escape(state)}: {escape(json.dumps(report, default=str))}")
        if summarize is not None and result.record:
            for line in summarize(result.record):
                self.console.print(f"  {escape(line)}")
        if result.error:
            self.console.print(f"  error: {escape(result.error)}: {escape(result.cause[:500])}")
