"""HTML reports, one self-contained page each (plots are embedded PNGs, nothing is fetched):
one per evaluation (metrics, per-language breakdown, score histograms, the confusion matrix
of a classifier, the worst examples) and one per comparison of two models."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from modelmint.evaluation.base import Suite
from modelmint.evaluation.results import EvaluationResult
from modelmint.evaluation.suites import suite_named

if TYPE_CHECKING:  # compare runs evaluations, whose reports come from here
    from modelmint.evaluation.compare import Comparison

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .6em;
vertical-align:top;text-align:left}th{background:#f4f4f4}td.num{text-align:right}
figure{display:inline-block;margin:.5em}img{max-width:520px}.text{max-width:420px;
white-space:pre-wrap;font-size:90%}"""
_WORST = 20


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


def _figure(title: str, png: str) -> str:
    t = html.escape(title)
    image = f"<img alt='{t}' src='data:image/png;base64,{png}'>"
    return f"<figure><figcaption>{t}</figcaption>{image}</figure>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"<td class=num>{value:.4g}</td>"
    if isinstance(value, int):
        return f"<td class=num>{value}</td>"
    return f"<td class=text>{html.escape('' if value is None else str(value))}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{_STYLE}</style><h1>{html.escape(title)}</h1>{body}</html>"
    )


def _histograms(suite: Suite, examples: list[dict[str, Any]]) -> list[str]:
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
        figures.append(_figure(f"{score} per example, by language", _png(fig)))
    return figures


def _confusion(details: dict[str, Any]) -> str:
    classes, cm = details.get("classes"), details.get("confusion")
    if not classes or cm is None:
        return ""
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
    return (
        "<h2>Confusion matrix</h2>"
        + _figure("confusion matrix (rows: reference)", _png(fig))
        + _table(["class", "precision", "recall", "F1", "support"], rows)
    )


def _by_language(suite: Suite, examples: list[dict[str, Any]]) -> str:
    langs = sorted({e["lang"] for e in examples})
    rows, names = [], list(suite.metrics(examples))
    for lang in langs:
        subset = [e for e in examples if e["lang"] == lang]
        m = suite.metrics(subset)
        rows.append([lang or "(unknown)", len(subset), *[m.get(n) for n in names]])
    return "<h2>By language</h2>" + _table(["language", "examples", *names], rows)


def _worst(suite: Suite, examples: list[dict[str, Any]]) -> str:
    score = next((s for s in suite.example_scores if examples and s in examples[0]["scores"]), None)
    if score is None:
        return ""
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
    order = "highest" if high_is_bad else "lowest"
    return f"<h2>Worst examples ({order} {html.escape(score)})</h2>" + _table(
        [*headers, score], rows
    )


def evaluation_report(result: EvaluationResult, suite: Suite) -> Path:
    """Writes ``report.html`` beside the evaluation's records and returns its path."""
    examples = result.examples()
    details = result.details
    facts: list[list[Any]] = [
        ["model", result.model],
        ["suite", f"{suite.name}: {suite.description}"],
        ["dataset", result.dataset],
        ["split", result.split],
        ["options", json.dumps(result.options, ensure_ascii=False)],
        ["examples", len(examples)],
        ["evaluated", result.created_at.isoformat(timespec="seconds")],
    ]
    body = (
        _table(["", ""], facts)
        + "<h2>Metrics</h2>"
        + _table(["metric", "value"], [[k, v] for k, v in result.metrics.items()])
        + _by_language(suite, examples)
        + "<h2>Per-example scores</h2>"
        + "".join(_histograms(suite, examples))
        + _confusion(details)
        + _worst(suite, examples)
    )
    path = result.report_path
    path.write_text(_page(f"Evaluation {result.id}: {result.model}", body), encoding="utf-8")
    return path


def _intervals(c: Comparison) -> str:
    plt = _plt()
    fig, axes = plt.subplots(len(c.metrics), 1, figsize=(5.5, 0.9 * len(c.metrics) + 0.4))
    for ax, m in zip(np.atleast_1d(axes), c.metrics, strict=True):
        ax.errorbar([m.diff], [0], xerr=[[m.diff - m.low], [m.high - m.diff]], fmt="o", capsize=4)
        ax.axvline(0, color="#888", lw=0.8)
        ax.set_yticks([0], [m.name])
        span = max(abs(m.low), abs(m.high), 1e-12) * 1.3
        ax.set_xlim(-span, span)
    fig.tight_layout()
    return _figure(f"{c.b.model} − {c.a.model}, {c.seed=} 95% interval", _png(fig))


def _scatter(c: Comparison, suite: Suite) -> str:
    a = {e["key"]: e for e in c.a.examples()}
    pairs = [(a[e["key"]], e) for e in c.b.examples() if e["key"] in a]
    score = next((s for s in suite.example_scores if pairs and s in pairs[0][0]["scores"]), None)
    if score is None:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4, 4))
    xs = [p[0]["scores"][score] for p in pairs]
    ys = [p[1]["scores"][score] for p in pairs]
    ax.scatter(xs, ys, s=10, alpha=0.5)
    lo, hi = min(xs + ys), max(xs + ys)
    ax.plot([lo, hi], [lo, hi], color="#888", lw=0.8)
    ax.set_xlabel(f"{score}: {c.a.model}")
    ax.set_ylabel(f"{score}: {c.b.model}")
    return _figure(f"{score} per example", _png(fig))


def comparison_report(comparisons: Sequence[Comparison], out_dir: Path) -> Path:
    sections = []
    for c in comparisons:
        suite = suite_named(c.a.suite)
        rows = []
        for m in c.metrics:
            rows.append([m.name, m.a, m.b, m.diff, m.low, m.high, m.verdict])
        changed = [
            [x.key, x.input, x.reference, x.prediction_a, x.prediction_b, x.score_a, x.score_b]
            for x in c.changed
        ]
        title = f"{c.a.suite} on {c.a.dataset} {c.a.split or ''}".strip()
        sections.append(
            f"<h2>{html.escape(title)}</h2><p>evaluations {c.a.id} and {c.b.id}; options "
            f"{html.escape(json.dumps(c.a.options, ensure_ascii=False))}; {c.paired} paired "
            f"examples, {c.resamples} paired bootstrap resamples, seed {c.seed}</p>"
            + _table(
                ["metric", c.a.model, c.b.model, "difference", "95% low", "95% high", ""], rows
            )
            + _intervals(c)
            + _scatter(c, suite)
            + "<h3>Examples that changed most</h3>"
            + _table(
                ["example", "input", "reference", c.a.model, c.b.model, "score a", "score b"],
                changed,
            )
        )
    first = comparisons[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    title = f"{first.b.model} against {first.a.model}"
    path.write_text(_page(title, "".join(sections)), encoding="utf-8")
    return path
