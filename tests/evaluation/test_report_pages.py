"""Evaluation and comparison reports, rendered from stored records: values escaped, a text
cell's whitespace kept as the model wrote it, the sections a suite's records call for."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from modelmint.evaluation import ChangedExample, Comparison, MetricDiff, comparison_report
from modelmint.evaluation.report import evaluation_report
from modelmint.evaluation.results import EvaluationResult, write_examples
from modelmint.evaluation.suites import suite_named

HOSTILE = "<script>alert('x')</script> &"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;"


def _result(tmp_path: Path, id: int, model: str, right: list[float]) -> EvaluationResult:
    """A stored custom multiple-choice evaluation, one example per entry of ``right``."""
    path = tmp_path / str(id)
    path.mkdir()
    examples = [
        {
            "key": f"line {i}",
            "input": HOSTILE if i == 0 else f"first line\n  indented {i}",
            "reference": "yes",
            "prediction": "yes" if ok else "no",
            "lang": "en",
            "scores": {"correct": ok, "correct_norm": ok, "margin": ok - 0.5 + i / 10},
        }
        for i, ok in enumerate(right)
    ]
    write_examples(path / "examples.jsonl", examples)
    metrics = {"accuracy": sum(right) / len(right)}
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return EvaluationResult(
        id, 1, model, "custom", "items.jsonl", None, {"note": HOSTILE}, metrics, path, created
    )


def test_an_evaluation_report_escapes_inputs_and_keeps_their_whitespace(tmp_path: Path) -> None:
    result = _result(tmp_path, 1, "demo:1", [0.0, 1.0, 0.0])

    page = evaluation_report(result, suite_named("custom")).read_text(encoding="utf-8")

    assert "<script>" not in page
    assert f"<td class=text>{ESCAPED}</td>" in page
    assert "<td class=text>first line\n  indented 1</td>" in page
    assert f"<td class=text>{json.dumps({'note': ESCAPED})}</td>".replace('"', "&#34;") in page
    assert "<title>Evaluation 1: demo:1</title>" in page
    assert "<td class=text>evaluated</td><td class=text>2026-01-02T03:04:05+00:00</td>" in page
    assert "<td class=text>accuracy</td><td class=num>0.3333</td>" in page
    assert "<h2>Worst examples (lowest correct)</h2>" in page
    assert "<h2>Confusion matrix</h2>" not in page  # no classes in a custom suite's details
    assert page.count("<figure>") == 1  # the margin histogram
    assert page.endswith("</html>\n")


def test_a_comparison_report_shows_each_difference_and_what_changed(tmp_path: Path) -> None:
    a = _result(tmp_path, 1, "demo:1", [0.0, 1.0, 0.0])
    b = _result(tmp_path, 2, "demo:2", [1.0, 1.0, 1.0])
    diff = MetricDiff("accuracy", 1 / 3, 1.0, 0.2, 0.9, lower_is_better=False)
    changed = ChangedExample("line 0", HOSTILE, "yes", "no", "yes", "correct", 0.0, 1.0)
    comparison = Comparison(a, b, [diff], [changed], paired=3, resamples=50, seed=7)

    page = comparison_report([comparison], tmp_path / "out").read_text(encoding="utf-8")

    assert "<title>demo:2 against demo:1</title>" in page
    assert "<h2>custom on items.jsonl</h2>" in page
    assert "3 paired examples, 50 paired bootstrap resamples, seed 7</p>" in page
    assert "<td class=num>0.6667</td><td class=num>0.2</td><td class=num>0.9</td>" in page
    assert "<td class=text>better</td>" in page
    assert f"<td class=text>line 0</td><td class=text>{ESCAPED}</td>" in page
    assert "<script>" not in page
    # the interval plot and the per-example scatter, side by side
    assert page.count("<figure>") == 2 and "</figure><figure>" in page
