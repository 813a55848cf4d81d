"""``mint label annotators``: the people who label in the browser (``/label`` of ``mint
serve``). ``add`` prints the sign-in token once; only a hash of it is kept."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from modelmint.cli.common import JSON_OUTPUT, console, when, when_json
from modelmint.cli.label import label_app
from modelmint.cli.runtime import Runtime
from modelmint.labeling.choices import LANGUAGES

if TYPE_CHECKING:
    from modelmint.labeling.annotators import AnnotatorInfo, Annotators

annotators_app = typer.Typer(
    help="Annotators who label in the browser: add (prints a token once), list, revoke.",
    no_args_is_help=True,
)
label_app.add_typer(annotators_app, name="annotators")

PAGE_URL = "http://127.0.0.1:8000/label"


def _annotators(rt: Runtime) -> Annotators:
    from modelmint.labeling.annotators import Annotators

    return Annotators(rt.store, rt.keys.pepper)


def _row(a: AnnotatorInfo) -> dict[str, object]:
    return {
        "name": a.name,
        "prefix": a.prefix,
        "language": a.language,
        "projects": list(a.projects),
        "created_at": when_json(a.created_at),
        "revoked_at": when_json(a.revoked_at),
    }


@annotators_app.command("add")
def annotators_add(
    name: str = typer.Argument(..., help="The annotator's name (what their labels are under)."),
    language: str = typer.Option("en", help=f"Page language: {' or '.join(LANGUAGES)}."),
    project: list[str] = typer.Option(
        [], "--project", help="A project they may label (repeatable; none: every project)."
    ),
    url: str = typer.Option(PAGE_URL, help="Where `mint serve` shows the page."),
) -> None:
    """Add an annotator and print the sign-in token (shown only this once)."""
    rt = Runtime.open()
    info, token = _annotators(rt).create(name, language=language, projects=project)
    scope = ", ".join(info.projects) or "every project"
    console.print(
        f"annotator {info.name} ({info.language}) may label {scope}. Their token is shown "
        f"only now; give it to them privately. They sign in at {url}",
        highlight=False,
        soft_wrap=True,
    )
    print(token)


@annotators_app.command("list")
def annotators_list(as_json: bool = JSON_OUTPUT) -> None:
    """Annotators with their language, projects and whether they are revoked."""
    rt = Runtime.open()
    rows = _annotators(rt).list()
    if as_json:
        print(json.dumps([_row(a) for a in rows], ensure_ascii=False, indent=2))
        return
    table = Table("name", "prefix", "language", "projects", "created", "status")
    for a in rows:
        table.add_row(
            a.name,
            a.prefix,
            a.language,
            ", ".join(a.projects) or "(all)",
            when(a.created_at),
            "active" if a.active else f"revoked {when(a.revoked_at)}",
        )
    console.print(table)


@annotators_app.command("revoke")
def annotators_revoke(name: str = typer.Argument(..., help="The annotator's name.")) -> None:
    """Lock the annotator out (from their next request on); their labels stay."""
    rt = Runtime.open()
    a = _annotators(rt).revoke(name)
    console.print(f"annotator {a.name} revoked; their page stops working on its next request")
