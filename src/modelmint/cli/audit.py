"""``mint audit``: who changed what, with the record before and after."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from modelmint.cli.common import AS_CHANNEL, JSON_OUTPUT, console, when, when_json
from modelmint.cli.runtime import Runtime


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """What changed, compactly: ``field: old -> new`` for the fields that differ."""
    if before is None:
        return "created"
    if after is None:
        return "deleted"
    keys = [k for k in after if k != "rotated_to" and before.get(k) != after.get(k)]
    text = "; ".join(f"{k}: {before.get(k)} -> {after.get(k)}" for k in keys)
    if "rotated_to" in after:
        text += f"; rotated to {after['rotated_to'].get('prefix')}"
    return text.strip("; ")


def audit(
    limit: int = typer.Option(50, help="How many entries, newest first."),
    action: str | None = typer.Option(None, help="Only this action, e.g. tenant.update."),
    as_channel: str | None = AS_CHANNEL,
    as_json: bool = JSON_OUTPUT,
) -> None:
    """The audit log: who changed what, with the record before and after."""
    rt = Runtime.open()
    entries = rt.audit.list(rt.scope(as_channel), limit=limit, action=action)
    if as_json:
        print(
            json.dumps(
                [{**e.__dict__, "created_at": when_json(e.created_at)} for e in entries],
                indent=2,
            )
        )
        return
    table = Table("id", "when", "actor", "action", "target", "changes")
    for e in entries:
        table.add_row(
            str(e.id),
            when(e.created_at),
            e.actor,
            e.action,
            e.target,
            _changes(e.before, e.after),
        )
    console.print(table)
