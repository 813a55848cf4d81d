"""Agreement metrics against scikit-learn and the published worked examples."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select

from modelmint.labeling.agreement import (
    AgreementError,
    agreement_report,
    annotator_accuracy,
    cohen_kappa,
    disagreements,
    fleiss_kappa,
    krippendorff_alpha,
)
from modelmint.store import Annotation, LabelItem, LabelProject, Store

# Fleiss (1971) / Wikipedia "Fleiss' kappa": 10 items, 14 raters, 5 categories.
FLEISS_COUNTS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), section C: 4 coders,
# 12 units, values 1-5, missing marked None.
_ = None
KRIPP_CODERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],  # A
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],  # B
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],  # C
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],  # D
]
KRIPP_UNITS = [list(unit) for unit in zip(*KRIPP_CODERS, strict=True)]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_scikit_learn_on_random_labels(seed: int, weights: str | None) -> None:
    rng = random.Random(seed)
    labels = [1, 2, 3, 4, 5][: rng.randint(2, 5)]
    n = rng.randint(5, 60)
    a = [rng.choice(labels) for _ in range(n)]
    # b agrees with a part of the time, so kappa is neither 0 nor 1
    b = [x if rng.random() < 0.6 else rng.choice(labels) for x in a]
    expected = cohen_kappa_score(a, b, weights=weights)
    assert cohen_kappa(a, b, weights=weights) == pytest.approx(expected, abs=1e-12)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (["正面", "负面", "正面", "中性"], ["正面", "负面", "正面", "中性"]),  # perfect
        (["pos", "neg", "pos", "neg"], ["neg", "pos", "neg", "pos"]),  # always opposite
        (["pos", "pos", "pos", "neg"], ["pos", "pos", "pos", "pos"]),  # one rater constant
        (["正面", "neg", "正面", "neg", "neg"], ["正面", "正面", "neg", "neg", "neg"]),
    ],
)
def test_cohen_kappa_matches_scikit_learn_on_edge_cases(a: list[str], b: list[str]) -> None:
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_cohen_kappa_undefined_when_everyone_uses_one_label() -> None:
    assert math.isnan(cohen_kappa(["x", "x"], ["x", "x"]))


def test_cohen_kappa_skips_items_one_annotator_did_not_label() -> None:
    a = ["pos", None, "neg", "pos", "neg"]
    b = ["pos", "neg", "neg", None, "pos"]
    assert cohen_kappa(a, b) == pytest.approx(
        cohen_kappa_score(["pos", "neg", "neg"], ["pos", "neg", "pos"])
    )


def test_cohen_kappa_multilabel_is_the_average_of_per_label_binary_kappas() -> None:
    a = [["体育", "news"], ["news"], [], ["体育"], ["news", "tech"], ["tech"]]
    b = [["体育"], ["news"], ["news"], ["体育"], ["tech"], ["tech", "体育"]]
    per_label = [
        cohen_kappa_score([lab in x for x in a], [lab in y for y in b])
        for lab in ["news", "tech", "体育"]
    ]
    assert cohen_kappa(a, b) == pytest.approx(sum(per_label) / 3)


def test_cohen_kappa_degenerate_input_is_a_clear_error() -> None:
    with pytest.raises(AgreementError, match="differ in length"):
        cohen_kappa(["a", "b"], ["a"])
    with pytest.raises(AgreementError, match="no item in common"):
        cohen_kappa(["a", None], [None, "b"])
    with pytest.raises(AgreementError, match="no item in common"):
        cohen_kappa([], [])


def test_fleiss_kappa_worked_example_from_counts_and_from_labels() -> None:
    assert fleiss_kappa(FLEISS_COUNTS, counts=True) == pytest.approx(0.2099, abs=5e-5)
    as_labels = [
        [cat for cat, n in zip("ABCDE", row, strict=True) for _ in range(n)]
        for row in FLEISS_COUNTS
    ]
    assert fleiss_kappa(as_labels) == pytest.approx(0.2099, abs=5e-5)
    assert round(fleiss_kappa(as_labels), 3) == 0.210


def test_fleiss_kappa_perfect_and_chinese_labels() -> None:
    assert fleiss_kappa([["好", "好", "好"], ["坏", "坏", "坏"]]) == pytest.approx(1.0)


def test_fleiss_kappa_degenerate_input_is_a_clear_error() -> None:
    with pytest.raises(AgreementError, match="item 1 has 2 ratings but item 0 has 3"):
        fleiss_kappa([["a", "b", "a"], ["a", "b"]])
    with pytest.raises(AgreementError, match="at least 2 raters"):
        fleiss_kappa([["a"], ["b"]])
    with pytest.raises(AgreementError, match="missing label"):
        fleiss_kappa([["a", None], ["b", "b"]])
    with pytest.raises(AgreementError, match="non-negative whole numbers"):
        fleiss_kappa([["a", "b"], ["b", "b"]], counts=True)
    with pytest.raises(AgreementError, match="no items"):
        fleiss_kappa([])


def test_fleiss_kappa_multilabel_averages_binary_labels() -> None:
    items = [[["a"], ["a", "b"]], [["b"], ["b"]], [[], ["a"]], [["a", "b"], ["a", "b"]]]
    per_label = []
    for lab in ["a", "b"]:
        per_label.append(fleiss_kappa([[lab in v for v in item] for item in items]))
    assert fleiss_kappa(items) == pytest.approx(sum(per_label) / 2)


def test_krippendorff_alpha_worked_example() -> None:
    assert round(krippendorff_alpha(KRIPP_UNITS, "nominal"), 3) == 0.743
    assert round(krippendorff_alpha(KRIPP_UNITS, "interval"), 3) == 0.849


def test_krippendorff_alpha_nominal_with_text_labels_is_label_independent() -> None:
    names = {1: "一", 2: "二", 3: "three", 4: "four", 5: "五"}
    renamed = [[None if v is None else names[v] for v in unit] for unit in KRIPP_UNITS]
    assert krippendorff_alpha(renamed) == pytest.approx(krippendorff_alpha(KRIPP_UNITS))


def test_krippendorff_alpha_errors_and_undefined() -> None:
    with pytest.raises(AgreementError, match="no unit has two or more labels"):
        krippendorff_alpha([["a"], [None, "b"], []])
    with pytest.raises(AgreementError, match="needs numbers"):
        krippendorff_alpha([["a", "b"]], "interval")
    with pytest.raises(AgreementError, match="level must be"):
        krippendorff_alpha([[1, 2]], "ordinal")  # type: ignore[arg-type]
    assert math.isnan(krippendorff_alpha([["a", "a"], ["a", "a", None]]))


def test_annotator_accuracy_against_gold() -> None:
    gold = {1: "正面", 2: "neg", 3: ["a", "b"]}
    result = annotator_accuracy(
        {
            "ann": {1: "正面", 2: "pos", 3: ["b", "a"], 4: "pos"},
            "bob": {1: "正面"},
            "cy": {4: "neg"},
        },
        gold,
    )
    assert (result["ann"].correct, result["ann"].total) == (2, 3)
    assert result["ann"].accuracy == pytest.approx(2 / 3)
    assert result["bob"].accuracy == 1.0
    assert result["cy"].total == 0 and result["cy"].accuracy is None
    with pytest.raises(AgreementError, match="no gold items"):
        annotator_accuracy({"ann": {1: "x"}}, {})


def test_disagreements_most_disputed_first() -> None:
    found = disagreements(
        {
            "agree": ["pos", "pos", "pos"],
            "two_one": ["pos", "neg", "pos"],
            "split": ["正面", "负面"],
            "single": ["pos"],
            "three_way": ["a", "b", "c"],
            "sets": [["x", "y"], ["y", "x"], ["x"]],
        }
    )
    assert [d.item for d in found] == ["three_way", "split", "two_one", "sets"]
    assert found[0].majority_share == pytest.approx(1 / 3)
    two_one = found[2]
    assert two_one.counts == (("pos", 2), ("neg", 1))
    assert found[3].counts == ((["x", "y"], 2), (["x"], 1))
    # a lower threshold keeps only items whose majority is weaker than that
    assert [d.item for d in disagreements({"a": [1, 1, 2], "b": [1, 2]}, 0.6)] == ["b"]
    with pytest.raises(AgreementError, match="threshold"):
        disagreements({}, 0)


def _store_rows(
    store: Store, kind: str, rows: list[tuple[int, str, Any]], gold: dict[int, Any]
) -> list[tuple[int, str, Any]]:
    """Write a project's items and annotations to the labeling tables and read them back,
    as the agreement page does."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with store.write_session() as s:
        project = LabelProject(name=f"agree-{kind}", kind=kind, labels=[], created_at=now)
        s.add(project)
        s.flush()
        items = {}
        for position in sorted({item for item, _, _ in rows}):
            items[position] = LabelItem(
                project_id=project.id,
                position=position,
                content={"text": f"第{position}条"},
                gold=gold.get(position),
                created_at=now,
            )
            s.add(items[position])
        s.flush()
        for item, annotator, value in rows:
            s.add(
                Annotation(
                    item_id=items[item].id,
                    annotator=annotator,
                    value=value,
                    created_at=now,
                    updated_at=now,
                )
            )
        project_id = project.id
    with store.session() as s:
        q = (
            select(LabelItem.position, Annotation.annotator, Annotation.value)
            .join(Annotation, Annotation.item_id == LabelItem.id)
            .where(LabelItem.project_id == project_id)
            .order_by(LabelItem.position, Annotation.annotator)
        )
        return [(p, a, v) for p, a, v in s.execute(q)]


def test_agreement_report_over_the_labeling_tables(store: Store) -> None:
    # Krippendorff's worked example, stored as annotations of a rating project
    rows = [
        (unit, coder, value)
        for coder, values in zip("ABCD", KRIPP_CODERS, strict=True)
        for unit, value in enumerate(values)
        if value is not None
    ]
    stored = _store_rows(store, "rating", rows, gold={0: 1, 5: 2})
    report = agreement_report("rating", stored, gold={0: 1, 5: 2})
    assert report.alpha_level == "interval"
    assert report.alpha is not None and round(report.alpha, 3) == 0.849
    assert report.items == 11 and report.annotators == ["A", "B", "C", "D"]
    assert report.fleiss is None  # units have 2 to 4 labels: Fleiss does not apply
    ab = next(p for p in report.pairs if (p.a, p.b) == ("A", "B"))
    assert ab.items == 9 and ab.kappa == pytest.approx(
        cohen_kappa_score(KRIPP_CODERS[0][:9], KRIPP_CODERS[1][:9])
    )
    # unit 5 (1, 2, 3, 4) is the most disputed; unit 0 and the rest agree among themselves
    assert report.review[0].item == 5 and report.review[0].majority_share == 0.25
    assert (report.accuracy["A"].correct, report.accuracy["A"].total) == (1, 2)
    assert report.accuracy["C"].accuracy == 0.0  # C labeled only item 5 of the gold ones


def test_agreement_report_nominal_with_chinese_labels(store: Store) -> None:
    rows = [
        (0, "李", "正面"),
        (0, "王", "正面"),
        (1, "李", "负面"),
        (1, "王", "正面"),
        (2, "李", "负面"),
    ]
    stored = _store_rows(store, "classification", rows, gold={})
    report = agreement_report("classification", stored)
    assert report.items == 2 and [d.item for d in report.review] == [1]
    assert report.fleiss is not None and report.alpha is not None
    assert report.pairs[0].kappa == pytest.approx(
        cohen_kappa_score(["正面", "负面"], ["正面", "正面"])
    )
    assert report.accuracy == {}
