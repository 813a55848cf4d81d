"""``mint label gold|agreement|review|resolve``: gold answers, how much annotators agree,
and the queue of items a reviewer decides. Registered on ``mint label`` (cli/label.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from modelmint.cli.common import console
from modelmint.cli.label import _value, label_app
from modelmint.cli.runtime import Runtime, cli_actor

if TYPE_CHECKING:
    from modelmint.labeling import AgreementReport

THRESHOLD_HELP = "An item needs review when its top label's share is below this (1: any split)."


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


@label_app.command("gold")
def label_gold(
    name: str = typer.Argument(..., help="Project name."),
    file: Path | None = typer.Option(
        None, "--file", help='JSON lines {"position"|"external_id"|"item": ..., "gold": V}.'
    ),
    column: str = typer.Option(
        "", "--column", help="Copy this dataset column (or labels.KEY) as the gold answers."
    ),
) -> None:
    """Mark items gold with their known answer, to measure annotators against."""
    from modelmint.labeling import LabelingError
    from modelmint.labeling.review import Review

    rt = Runtime.open()
    if (file is None) == (not column):
        raise LabelingError("give one of --file F or --column C")
    review = Review(rt.store)
    if file is not None:
        res = review.gold_from_file(name, file)
    else:
        res = review.gold_from_column(name, rt.catalog, column)
    more = f", {res.cleared} cleared" if res.cleared else ""
    skipped = f", {res.skipped} without an answer skipped" if res.skipped else ""
    console.print(f"{name}: {res.marked} gold items marked{more}{skipped}")


def _report_json(report: AgreementReport) -> dict[str, Any]:
    out = dataclasses.asdict(report)
    out["accuracy"] = {
        a: {"correct": x.correct, "total": x.total, "accuracy": x.accuracy}
        for a, x in report.accuracy.items()
    }
    return out


@label_app.command("agreement")
def label_agreement(
    name: str = typer.Argument(..., help="Project name."),
    threshold: float = typer.Option(1.0, help=THRESHOLD_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Cohen's kappa per pair, Fleiss' kappa, Krippendorff's alpha, accuracy on gold."""
    from modelmint.labeling.review import Review

    rt = Runtime.open()
    report = Review(rt.store).agreement(name, threshold)
    if as_json:
        print(json.dumps(_report_json(report), ensure_ascii=False, indent=2))
        return
    console.print(
        f"{name} ({report.kind}): {report.items} items with two or more labels, "
        f"{len(report.annotators)} annotators"
    )
    console.print(
        f"Fleiss' kappa {_fmt(report.fleiss)}   Krippendorff's alpha ({report.alpha_level}) "
        f"{_fmt(report.alpha)}"
    )
    if report.pairs:
        pairs = Table("annotator", "annotator", "shared items", "Cohen's kappa")
        for p in report.pairs:
            pairs.add_row(p.a, p.b, str(p.items), _fmt(p.kappa))
        console.print(pairs)
    if report.accuracy:
        acc = Table("annotator", "gold items", "correct", "accuracy")
        for a, x in sorted(report.accuracy.items()):
            acc.add_row(a, str(x.total), str(x.correct), _fmt(x.accuracy))
        console.print(acc)
    else:
        console.print("no gold items labeled yet (mark some with `mint label gold`)")
    console.print(f"{len(report.review)} items disagree; see `mint label review {name}`")


@label_app.command("review")
def label_review(
    name: str = typer.Argument(..., help="Project name."),
    threshold: float = typer.Option(1.0, help=THRESHOLD_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the queue as JSON."),
) -> None:
    """Items whose labels disagree or tie, most disputed first, for `mint label resolve`."""
    from modelmint.labeling.review import Review

    rt = Runtime.open()
    queue = Review(rt.store).queue(name, threshold)
    if as_json:
        print(json.dumps([dataclasses.asdict(r) for r in queue], ensure_ascii=False, indent=2))
        return
    table = Table("item", "content", "labels", "top share", "tie")
    for r in queue:
        counts = ", ".join(f"{_short(v, 20)}×{n}" for v, n in r.counts)
        table.add_row(
            str(r.item_id),
            _short(r.content.get("text", r.content)),
            counts,
            f"{r.majority_share:.0%}",
            "yes" if r.tie else "",
        )
    console.print(table)
    console.print(
        f"{len(queue)} items to review; decide one with `mint label resolve {name} ITEM V`"
    )


@label_app.command("resolve")
def label_resolve(
    name: str = typer.Argument(..., help="Project name."),
    item: int = typer.Argument(..., help="Item id (from `mint label review`)."),
    value: str = typer.Argument(..., help='The final label: text, a number, or JSON (["a"]).'),
    reviewer: str = typer.Option("", help="Who decides (default: cli:<os user>)."),
) -> None:
    """Give an item its final label; it wins over the annotators' majority on export."""
    from modelmint.labeling.review import Review

    rt = Runtime.open()
    res = Review(rt.store).resolve(name, item, reviewer or cli_actor(), _value(value))
    verb = "replaced the decision" if res.replaced else "resolved"
    console.print(
        f"{verb} item {res.item_id}: {json.dumps(res.value, ensure_ascii=False)} by {res.reviewer}"
    )


@label_app.command("import-ls")
def label_import_ls(
    file: Path = typer.Argument(..., help="A Label Studio JSON export (a list of tasks)."),
    project: str = typer.Option(..., "--project", help="Name of the new label project."),
    kind: str = typer.Option("classification", help="The project's kind."),
    labels: str = typer.Option("", help="Comma list of labels (classification, multilabel)."),
    overlap: int = typer.Option(1, help="Different annotators per item."),
) -> None:
    """Import Label Studio tasks, predictions and annotations into a new project."""
    from modelmint.labeling import LabelingError
    from modelmint.labeling.label_studio_store import import_label_studio

    rt = Runtime.open()
    if not file.is_file():
        raise LabelingError(f"{file}: no such file")
    res = import_label_studio(
        rt.store,
        project,
        file.read_text(encoding="utf-8"),
        kind=kind,
        labels=[x for x in labels.split(",") if x.strip()],
        overlap=overlap,
    )
    console.print(
        f"label project {res.project.name}: {res.tasks} tasks, {res.annotations} annotations, "
        f"{res.suggestions} predictions as suggestions"
    )


@label_app.command("export-ls")
def label_export_ls(
    project: str = typer.Argument(..., help="Project name."),
    out: Path = typer.Option(..., "-o", "--out", help="File to write the Label Studio JSON to."),
) -> None:
    """Write the project (items, suggestions, every annotation) as Label Studio JSON."""
    from modelmint.labeling.label_studio_store import export_label_studio

    rt = Runtime.open()
    text = export_label_studio(rt.store, project)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {len(json.loads(text))} tasks to {out}")
