"""HTML reports, one self-contained page each (plots are embedded PNGs, nothing is fetched):
one per evaluation (metrics, per-language breakdown, score histograms, the confusion matrix
of a classifier, the worst examples) and one per comparison of two models.

This module computes what a page shows (numbers formatted, plots drawn); the markup is in
``templates/`` (Jinja2, every value escaped)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from modelmint.evaluation.base import Suite
from modelmint.evaluation.comparison import Comparison
from modelmint.evaluation.results import EvaluationResult
from modelmint.evaluation.suites import suite_named
from modelmint.observability.html_pages import html_templates

_WORST = 20
_templates = html_templates("modelmint.evaluation")


class Cell(NamedTuple):
    kind: str  # "num" (right-aligned) or "text" (wrapped, whitespace kept)
    text: str


class Table(NamedTuple):
    headers: Sequence[str]
    rows: list[list[Cell]]


class Figure(NamedTuple):
    title: str
    png: str  # base64


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _cell(value: Any) -> Cell:
    if isinstance(value, float):
        return Cell("num", f"{value:.4g}")
    if isinstance(value, int):
        return Cell("num", f"{value}")
    return Cell("text", "" if value is None else str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    return Table(headers, [[_cell(v) for v in row] for row in rows])


def _histograms(suite: Suite, examples: list[dict[str, Any]]) -> list[Figure]:
    plt = _plt()
    figures = []
    langs = sorted({e["lang"] for e in examples})
    for score in suite.histogram:
        if not examples or score not in examples[0]["scores"]:
            continue
        fig, ax = plt.subplots(figsize=(5.5, 3))
        values = [e["scores"][score] for e in examples]
        bins = np.histogram_bin_edges(values, bins=20)
        for lang in langs:
            ax.hist(
                [e["scores"][score] for e in examples if e["lang"] == lang],
                bins=bins,
                alpha=0.6,
                label=lang or "(unknown)",
            )
        ax.set_xlabel(score)
        ax.set_ylabel("examples")
        ax.legend(title="language")
        figures.append(Figure(f"{score} per example, by language", _png(fig)))
    return figures


def _confusion(details: dict[str, Any]) -> dict[str, Any] | None:
    classes, cm = details.get("classes"), details.get("confusion")
    if not classes or cm is None:
        return None
    plt = _plt()
    size = 2.5 + 0.45 * len(classes)
    fig, ax = plt.subplots(figsize=(size, size))
    matrix = np.asarray(cm)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    for (i, j), v in np.ndenumerate(matrix):
        if v:
            dark = v > matrix.max() / 2
            ax.text(j, i, str(v), ha="center", va="center", color="white" if dark else "black")
    rows = [
        [c, s["precision"], s["recall"], s["f1"], s["support"]]
        for c, s in details.get("per_class", {}).items()
    ]
    return {
        "figure": Figure("confusion matrix (rows: reference)", _png(fig)),
        "per_class": _table(["class", "precision", "recall", "F1", "support"], rows),
    }


def _by_language(suite: Suite, examples: list[dict[str, Any]]) -> Table:
    langs = sorted({e["lang"] for e in examples})
    rows, names = [], list(suite.metrics(examples))
    for lang in langs:
        subset = [e for e in examples if e["lang"] == lang]
        m = suite.metrics(subset)
        rows.append([lang or "(unknown)", len(subset), *[m.get(n) for n in names]])
    return _table(["language", "examples", *names], rows)


def _worst(suite: Suite, examples: list[dict[str, Any]]) -> dict[str, Any] | None:
    score = next((s for s in suite.example_scores if examples and s in examples[0]["scores"]), None)
    if score is None:
        return None
    high_is_bad = score in suite.lower_is_better
    ranked = sorted(examples, key=lambda e: e["scores"][score], reverse=high_is_bad)[:_WORST]
    generated = any(e["prediction"] is not None for e in examples)
    headers = ["example", "language", "input"] + (["reference", "prediction"] if generated else [])
    rows = [
        [e["key"], e["lang"], e["input"]]
        + ([e["reference"], e["prediction"]] if generated else [])
        + [e["scores"][score]]
        for e in ranked
    ]
    return {
        "order": "highest" if high_is_bad else "lowest",
        "score": score,
        "table": _table([*headers, score], rows),
    }


def evaluation_report(result: EvaluationResult, suite: Suite) -> Path:
    """Writes ``report.html`` beside the evaluation's records and returns its path."""
    examples = result.examples()
    facts: list[list[Any]] = [
        ["model", result.model],
        ["suite", f"{suite.name}: {suite.description}"],
        ["dataset", result.dataset],
        ["split", result.split],
        ["options", json.dumps(result.options, ensure_ascii=False)],
        ["examples", len(examples)],
        ["evaluated", result.created_at.isoformat(timespec="seconds")],
    ]
    page = _templates.get_template("evaluation_report.html").render(
        title=f"Evaluation {result.id}: {result.model}",
        facts=_table(["", ""], facts),
        metrics=_table(["metric", "value"], [[k, v] for k, v in result.metrics.items()]),
        by_language=_by_language(suite, examples),
        histograms=_histograms(suite, examples),
        confusion=_confusion(result.details),
        worst=_worst(suite, examples),
    )
    path = result.report_path
    path.write_text(page, encoding="utf-8")
    return path


def _intervals(c: Comparison) -> Figure:
    plt = _plt()
    fig, axes = plt.subplots(len(c.metrics), 1, figsize=(5.5, 0.9 * len(c.metrics) + 0.4))
    for ax, m in zip(np.atleast_1d(axes), c.metrics, strict=True):
        ax.errorbar([m.diff], [0], xerr=[[m.diff - m.low], [m.high - m.diff]], fmt="o", capsize=4)
        ax.axvline(0, color="#888", lw=0.8)
        ax.set_yticks([0], [m.name])
        span = max(abs(m.low), abs(m.high), 1e-12) * 1.3
        ax.set_xlim(-span, span)
    fig.tight_layout()
    return Figure(f"{c.b.model} − {c.a.model}, {c.seed=} 95% interval", _png(fig))


def _scatter(c: Comparison, suite: Suite) -> Figure | None:
    a = {e["key"]: e for e in c.a.examples()}
    pairs = [(a[e["key"]], e) for e in c.b.examples() if e["key"] in a]
    score = next((s for s in suite.example_scores if pairs and s in pairs[0][0]["scores"]), None)
    if score is None:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4, 4))
    xs = [p[0]["scores"][score] for p in pairs]
    ys = [p[1]["scores"][score] for p in pairs]
    ax.scatter(xs, ys, s=10, alpha=0.5)
    lo, hi = min(xs + ys), max(xs + ys)
    ax.plot([lo, hi], [lo, hi], color="#888", lw=0.8)
    ax.set_xlabel(f"{score}: {c.a.model}")
    ax.set_ylabel(f"{score}: {c.b.model}")
    return Figure(f"{score} per example", _png(fig))


def comparison_report(comparisons: Sequence[Comparison], out_dir: Path) -> Path:
    sections = []
    for c in comparisons:
        suite = suite_named(c.a.suite)
        rows = [[m.name, m.a, m.b, m.diff, m.low, m.high, m.verdict] for m in c.metrics]
        changed = [
            [x.key, x.input, x.reference, x.prediction_a, x.prediction_b, x.score_a, x.score_b]
            for x in c.changed
        ]
        sections.append(
            {
                "comparison": c,
                "title": f"{c.a.suite} on {c.a.dataset} {c.a.split or ''}".strip(),
                "options": json.dumps(c.a.options, ensure_ascii=False),
                "metrics": _table(
                    ["metric", c.a.model, c.b.model, "difference", "95% low", "95% high", ""],
                    rows,
                ),
                "intervals": _intervals(c),
                "scatter": _scatter(c, suite),
                "changed": _table(
                    ["example", "input", "reference", c.a.model, c.b.model, "score a", "score b"],
                    changed,
                ),
            }
        )
    first = comparisons[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    page = _templates.get_template("comparison_report.html").render(
        title=f"{first.b.model} against {first.a.model}", sections=sections
    )
    path.write_text(page, encoding="utf-8")
    return path
