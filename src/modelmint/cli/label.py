"""``mint label``: label projects over a dataset version, the next item for an annotator,
submitting labels, progress and export of finished labels as a new dataset version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from modelmint.cli.common import console
from modelmint.cli.runtime import Runtime, cli_actor
from modelmint.labeling.choices import KINDS

label_app = typer.Typer(
    help="Label projects: create, label (next, submit), suggest, review, measure agreement, "
    "manage annotators, export, and exchange with Label Studio.",
    no_args_is_help=True,
)

ANNOTATOR_HELP = "Who is labeling (default: cli:<os user>)."


def _fields(pairs: list[str]) -> dict[str, str]:
    """``SHOWN=SOURCE`` pairs (``text=text``, ``hint=labels.intent``)."""
    from modelmint.labeling import LabelingError

    out: dict[str, str] = {}
    for pair in pairs:
        shown, sep, source = pair.partition("=")
        if not sep or not shown.strip() or not source.strip():
            raise LabelingError(f"--field {pair!r}: use SHOWN=SOURCE, e.g. text=text")
        out[shown.strip()] = source.strip()
    return out


def _value(raw: str) -> Any:
    """A label from the command line: JSON when it parses (["a","b"], 4), else the text."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


@label_app.command("create")
def label_create(
    name: str = typer.Argument(..., help="Project name."),
    dataset: str = typer.Option(..., help="NAME or NAME:VERSION of the dataset to label."),
    split: str = typer.Option("train", help="Split of the dataset to label."),
    kind: str = typer.Option("classification", help=f"One of {', '.join(KINDS)}."),
    labels: str = typer.Option("", help="Comma list of labels (classification, multilabel)."),
    field: list[str] = typer.Option(
        [], "--field", help="SHOWN=SOURCE, repeatable (default text=text; labels.KEY too)."
    ),
    overlap: int = typer.Option(1, help="Different annotators per item."),
    guidelines: str = typer.Option("", help="Guidelines text, or @FILE to read them."),
) -> None:
    """Create a project with one item per record of the split."""
    from modelmint.labeling import LabelingError, LabelProjects

    rt = Runtime.open()
    text = guidelines
    if guidelines.startswith("@"):
        path = Path(guidelines[1:])
        if not path.is_file():
            raise LabelingError(f"--guidelines {guidelines}: no file {path}")
        text = path.read_text(encoding="utf-8")
    p = LabelProjects(rt.store, rt.catalog).create(
        name,
        dataset,
        split=split,
        kind=kind,
        labels=[x for x in labels.split(",") if x.strip()],
        fields=_fields(field) or None,
        overlap=overlap,
        guidelines=text,
    )
    console.print(
        f"label project {p.name}: {p.num_items} items from {p.dataset} {p.split}, "
        f"kind {p.kind}, overlap {p.overlap}"
    )


@label_app.command("list")
def label_list() -> None:
    """Projects with their dataset, kind and progress."""
    from modelmint.labeling import LabelProjects

    rt = Runtime.open()
    projects = LabelProjects(rt.store, rt.catalog)
    table = Table("project", "dataset", "kind", "labels", "overlap", "items", "finished")
    for p in projects.list():
        progress = projects.progress(p.name)
        table.add_row(
            p.name,
            f"{p.dataset or 'imported'} {p.split or ''}".strip(),
            p.kind,
            ", ".join(p.labels),
            str(p.overlap),
            str(p.num_items),
            str(progress.finished),
        )
    console.print(table)


@label_app.command("status")
def label_status(name: str = typer.Argument(..., help="Project name.")) -> None:
    """Progress per project and annotator, and how the model's suggestions fared."""
    from modelmint.labeling import Annotations, LabelProjects

    rt = Runtime.open()
    progress = LabelProjects(rt.store, rt.catalog).progress(name)
    report = Annotations(rt.store).suggestion_report(name)
    console.print(
        f"{name}: {progress.items} items, {progress.labels} labels, {progress.finished} finished"
    )
    table = Table("annotator", "labels")
    for annotator, n in progress.per_annotator.items():
        table.add_row(annotator, str(n))
    console.print(table)

    def share(x: float | None) -> str:
        return "-" if x is None else f"{x:.0%}"

    console.print(
        f"suggestions: shown {report.shown}, accepted {share(report.accepted_share)}, "
        f"overridden {share(report.overridden_share)}, accuracy {share(report.accuracy)} "
        f"({report.correct}/{report.checked} finished items)"
    )


@label_app.command("next")
def label_next(
    name: str = typer.Argument(..., help="Project name."),
    annotator: str = typer.Option("", help=ANNOTATOR_HELP),
) -> None:
    """Print the annotator's next item (with the suggestion) as JSON; null when done."""
    from modelmint.labeling import LabelQueue

    rt = Runtime.open()
    item = LabelQueue(rt.store).next_item(name, annotator or cli_actor())
    print(json.dumps(item.as_dict() if item else None, ensure_ascii=False, indent=2))


@label_app.command("submit")
def label_submit(
    name: str = typer.Argument(..., help="Project name."),
    item: int = typer.Argument(..., help="Item id (from `mint label next`)."),
    value: str = typer.Argument(..., help='The label: text, a number, or JSON (["a","b"]).'),
    annotator: str = typer.Option("", help=ANNOTATOR_HELP),
    seconds: float | None = typer.Option(None, help="Seconds spent on the item."),
) -> None:
    """Record (or replace) the annotator's label for an item."""
    from modelmint.labeling import Annotations

    rt = Runtime.open()
    a = Annotations(rt.store).submit(name, item, annotator or cli_actor(), _value(value), seconds)
    verb = "replaced" if a.replaced else "recorded"
    console.print(
        f"{verb} label {json.dumps(a.value, ensure_ascii=False)} for item {a.item_id} "
        f"by {a.annotator} (suggestion: {a.suggestion_use})"
    )


@label_app.command("export")
def label_export(
    name: str = typer.Argument(..., help="Project name."),
    to: str = typer.Option(..., "--to", help="Name of the dataset to register."),
    label_key: str = typer.Option("label", help="Key of the label in the records' labels."),
) -> None:
    """Finished labels (majority) as a new dataset version; ties and unfinished items are
    left out and counted."""
    from modelmint.labeling import export_labels

    rt = Runtime.open()
    res = export_labels(rt.store, rt.catalog, name, to, label_key=label_key)
    state = "new version" if res.created else "unchanged labels, existing version"
    console.print(
        f"dataset {res.dataset.label} ({state}): {res.exported} labeled records; "
        f"left out {res.ties} tied and {res.unfinished} unfinished items"
    )
