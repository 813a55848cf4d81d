"""``mint feedback list|review|export``: the review queue of what API users said about
answers, and its export as SFT and preference datasets."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from modelmint.cli.common import JSON_OUTPUT, console, when_json
from modelmint.cli.runtime import Runtime, cli_actor
from modelmint.errors import UserError

if TYPE_CHECKING:
    from modelmint.labeling.feedback import FeedbackRecord

feedback_app = typer.Typer(help="Feedback from API users: review it, export it as training data.")


def _short(text: str | None, width: int = 40) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _as_dict(r: FeedbackRecord) -> dict[str, object]:
    return {
        **r.__dict__,
        "created_at": when_json(r.created_at),
        "reviewed_at": when_json(r.reviewed_at),
    }


@feedback_app.command("list")
def list_feedback(
    status: str | None = typer.Option(None, help="Only this status: new, accepted or rejected."),
    model: str | None = typer.Option(
        None, help="Only feedback on this model: NAME or NAME:VERSION."
    ),
    limit: int = typer.Option(1000, help="At most this many, oldest first."),
    as_json: bool = JSON_OUTPUT,
) -> None:
    """The review queue: feedback, oldest first."""
    from modelmint.labeling.feedback import Feedback

    rt = Runtime.open()
    rows = Feedback(rt.store).list(status=status, model=model, limit=limit)
    if as_json:
        print(json.dumps([_as_dict(r) for r in rows], ensure_ascii=False, indent=2))
        return
    table = Table("id", "status", "model", "request", "choice", "rating", "corrected", "tags")
    for r in rows:
        table.add_row(
            str(r.id),
            r.status,
            r.model,
            r.request_id,
            str(r.choice),
            "" if r.rating is None else str(r.rating),
            _short(r.corrected),
            ", ".join(r.tags),
        )
    console.print(table)


@feedback_app.command("review")
def review(
    feedback_id: int = typer.Argument(..., metavar="ID"),
    accept: bool = typer.Option(False, "--accept", help="It may become training data."),
    reject: bool = typer.Option(False, "--reject", help="It never becomes training data."),
) -> None:
    """Accept or reject one piece of feedback."""
    from modelmint.labeling.feedback import Feedback

    if accept == reject:
        raise UserError("give exactly one of --accept or --reject")
    rt = Runtime.open()
    r = Feedback(rt.store).review(feedback_id, "accept" if accept else "reject", cli_actor())
    console.print(f"feedback {r.id} on {r.request_id}: {r.status}")


@feedback_app.command("export")
def export(
    model: str = typer.Argument(..., help="The model that answered: NAME or NAME:VERSION."),
    name: str | None = typer.Option(
        None, help="Dataset name prefix (default MODEL-feedback): NAME-sft, NAME-preference."
    ),
    include_unreviewed: bool = typer.Option(
        False, "--include-unreviewed", help="Also export feedback not yet reviewed (new)."
    ),
) -> None:
    """Accepted feedback as an SFT dataset (corrected answers and answers rated 4-5) and a
    preference dataset (corrected over original)."""
    from modelmint.labeling.feedback import Feedback

    rt = Runtime.open()
    out = Feedback(rt.store).export(rt.catalog, model, name, include_unreviewed)
    for kind, ref, n in (
        ("sft", out.sft, out.sft_rows),
        ("preference", out.preference, out.preference_rows),
    ):
        if ref is None:
            console.print(f"{kind}: nothing to write")
        else:
            console.print(f"{kind}: dataset {ref.label} ({n} records)")
    if out.skipped_no_transcript:
        ids = ", ".join(str(i) for i in out.skipped_no_transcript)
        console.print(
            f"skipped feedback {ids}: the request kept no transcript (send it with store: true)"
        )
