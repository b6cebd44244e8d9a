"""Decisions for people (text) and machines (JSON), from the same objects."""
from __future__ import annotations

import json
from collections.abc import Sequence

from .routing import Decision
from .trust import RulesSource


def decisions_json(source: str, decisions: Sequence[Decision], note: str | None = None,
                   rules: RulesSource | None = None) -> str:
    body = {"source": source, "deploy": any(d.deploy for d in decisions), "decisions": [d.to_dict() for d in decisions]}
    if rules is not None:
        body["rules"] = rules.to_dict()
    if note:
        body["note"] = note
    return json.dumps(body, indent=2)


def decisions_text(source: str, decisions: Sequence[Decision], note: str | None = None,
                   rules: RulesSource | None = None) -> str:
    lines = [f"Source: {source}"]
    if rules is not None:
        lines.append(f"Rules:  {rules.describe()}")
    if note:
        lines.append(note)
    for number, d in enumerate(decisions, start=1):
        prefix = f"{number}) " if len(decisions) > 1 else ""
        if not d.deploy:
            lines.append(f"{prefix}{d.reason}")
        else:
            verb = "DEPLOY to" if d.action == "deploy" else "PLAN ONLY (candidate) against"
            lines += [
                f"{prefix}{verb} {d.environment}",
                f"   config:            {d.config}  (region {d.region})",
                f"   projects:          {', '.join(d.projects)}",
                f"   commit:            {d.commit}",
                f"   approval required: {'yes' if d.approval_required else 'no'}",
                f"   smoke run:         {'yes' if d.smoke_run else 'no'}",
            ]
            if d.on_trusted_ref is not None and rules is not None:
                lines.append(f"   on trusted ref:    {'yes' if d.on_trusted_ref else 'no'} ({rules.ref})")
            lines.append(f"   why:               {d.reason}")
        lines += [f"   note: {n}" for n in d.notes]
    return "\n".join(lines)
