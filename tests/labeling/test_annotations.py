from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelmint.catalog import Catalog
from modelmint.labeling import (
    Annotations,
    LabelingError,
    LabelProjects,
    LabelQueue,
    check_value,
    final_labels,
)
from modelmint.store import Store
from support.labeling import register_tiny

LABELS = ["refund", "shipping", "account"]


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    c = Catalog(store, tmp_path / "artifacts")
    register_tiny(c)
    return c


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        ("classification", "refund", "refund"),
        ("multilabel", ["account", "refund"], ["refund", "account"]),
        ("multilabel", "shipping, refund", ["refund", "shipping"]),
        ("multilabel", [], []),
        ("rating", 5, 5),
        ("rating", "3", 3),
        ("correction", "您好，已为您退款。", "您好，已为您退款。"),
        ("preference", "b", "B"),
    ],
)
def test_values_are_checked_and_normalized(kind: str, value: Any, stored: Any) -> None:
    assert check_value(kind, LABELS, value) == stored


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("classification", "退款", "one of"),
        ("classification", 1, "one of"),
        ("multilabel", ["refund", "other"], r"\['other'\] not among"),
        ("rating", 0, "1 to 5"),
        ("rating", 6, "1 to 5"),
        ("rating", True, "1 to 5"),
        ("rating", 2.5, "1 to 5"),
        ("correction", "  ", "empty"),
        ("preference", "C", "'A' or 'B'"),
    ],
)
def test_bad_values_are_clear_errors(kind: str, value: Any, message: str) -> None:
    with pytest.raises(LabelingError, match=message):
        check_value(kind, LABELS, value)


def test_submit_records_suggestion_use_and_replaces(store: Store, catalog: Catalog) -> None:
    LabelProjects(store, catalog).create(
        "c", "tickets", kind="classification", labels=LABELS, overlap=1
    )
    queue, notes = LabelQueue(store), Annotations(store)
    first = queue.next_item("c", "王芳")
    assert first is not None
    notes.set_suggestion(first.id, "refund", 0.8, "classifier")
    a = notes.submit("c", first.id, "王芳", "refund", seconds=2.5)
    assert (a.suggestion_use, a.replaced) == ("accepted", False)
    b = notes.submit("c", first.id, "王芳", "shipping", seconds=4)
    assert (b.suggestion_use, b.replaced, b.id) == ("overrode", True, a.id)
    assert [(x.annotator, x.value) for x in notes.for_item(first.id)] == [("王芳", "shipping")]
    second = queue.next_item("c", "王芳")
    assert second is not None
    assert notes.submit("c", second.id, "王芳", "account").suggestion_use == "none"


def test_bad_submit_loses_nothing(store: Store, catalog: Catalog) -> None:
    LabelProjects(store, catalog).create("c", "tickets", kind="rating", overlap=1)
    LabelProjects(store, catalog).create("other", "tickets", kind="rating", overlap=1)
    queue, notes = LabelQueue(store), Annotations(store)
    item = queue.next_item("c", "ann")
    assert item is not None
    notes.submit("c", item.id, "ann", 4)
    with pytest.raises(LabelingError, match="1 to 5"):
        notes.submit("c", item.id, "ann", 9)
    with pytest.raises(LabelingError, match="not in project 'other'"):
        notes.submit("other", item.id, "ann", 3)
    with pytest.raises(LabelingError, match="already has 1 annotator"):
        notes.submit("c", item.id, "someone-else", 3)
    assert [x.value for x in notes.for_item(item.id)] == [4]
    with pytest.raises(LabelingError, match=r"outside 0\.\.1"):
        notes.set_suggestion(item.id, 3, 1.5, "x")
    with pytest.raises(LabelingError, match="1 to 5"):
        notes.set_suggestion(item.id, 7, 0.5, "x")


def test_final_labels_and_suggestion_report(store: Store, catalog: Catalog) -> None:
    LabelProjects(store, catalog).create(
        "m", "tickets", kind="classification", labels=LABELS, overlap=3
    )
    notes = Annotations(store)
    queue = LabelQueue(store)
    # all three annotators see the items in the same order: positions 0..5
    plan = {
        "a": ["refund", "refund", "shipping", "account", "refund"],
        "b": ["refund", "shipping", "account", "account"],
        "c": ["refund", "refund", "refund", "shipping"],
    }
    ids: list[int] = []
    for annotator, values in plan.items():
        for i, value in enumerate(values):
            item = queue.next_item("m", annotator)
            assert item is not None and item.position == i
            if annotator == "a":
                ids.append(item.id)
            notes.submit("m", item.id, annotator, value)
    final = final_labels(store, "m")
    assert final.labels == {ids[0]: "refund", ids[1]: "refund", ids[3]: "account"}
    assert final.ties == [ids[2]]
    assert sorted(final.unfinished) == sorted([ids[4], ids[4] + 1])
    notes.set_suggestion(ids[0], "refund", 0.9, "classifier")
    notes.set_suggestion(ids[1], "shipping", 0.4, "classifier")
    notes.set_suggestion(ids[3], "shipping", 0.4, "classifier")
    # b relabels item 0 with the suggestion on screen: accepted
    notes.submit("m", ids[0], "b", "refund")
    notes.submit("m", ids[1], "c", "refund")  # overrode
    report = notes.suggestion_report("m")
    assert (report.shown, report.accepted, report.overrode) == (2, 1, 1)
    assert report.accepted_share == report.overridden_share == 0.5
    assert (report.checked, report.correct) == (3, 1)
    assert report.accuracy == pytest.approx(1 / 3)
