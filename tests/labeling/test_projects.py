from __future__ import annotations

from pathlib import Path

import pytest

from modelmint.catalog import Catalog
from modelmint.labeling import Annotations, LabelingError, LabelProjects, LabelQueue
from modelmint.store import Store
from support.labeling import register_tiny


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    c = Catalog(store, tmp_path / "artifacts")
    register_tiny(c)
    return c


def test_create_makes_one_item_per_record_with_mapped_fields(
    store: Store, catalog: Catalog
) -> None:
    projects = LabelProjects(store, catalog)
    p = projects.create(
        "intents",
        "tickets:1",
        kind="classification",
        labels=["refund", "shipping", "account"],
        fields={"text": "text", "hint": "labels.intent"},
        overlap=2,
        guidelines="选择最合适的意图 / pick the best intent",
    )
    assert p.num_items == 6 and p.dataset == "tickets:1" and p.split == "train"
    assert projects.get("intents").guidelines.startswith("选择")
    item = LabelQueue(store).next_item("intents", "ann")
    assert item is not None
    assert item.content == {"text": "I want a refund for my order", "hint": "refund"}
    assert item.external_id == "r1"
    assert [x.name for x in projects.list()] == ["intents"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "ranking"}, "kind 'ranking' is not known"),
        ({"kind": "classification", "labels": []}, "needs at least two labels"),
        ({"kind": "multilabel"}, "needs labels"),
        ({"kind": "rating", "labels": ["1", "10"]}, "fixed"),
        ({"kind": "correction", "overlap": 0}, "overlap must be 1 or more"),
        ({"kind": "correction", "fields": {"answer": "reply"}}, "no field 'reply'"),
        ({"kind": "correction", "split": "dev"}, "no split 'dev'; available: test, train"),
    ],
)
def test_bad_projects_are_clear_errors_and_create_nothing(
    store: Store, catalog: Catalog, kwargs: dict[str, object], message: str
) -> None:
    projects = LabelProjects(store, catalog)
    with pytest.raises(LabelingError, match=message):
        projects.create("p", "tickets", **kwargs)  # type: ignore[arg-type]
    assert projects.list() == []


def test_missing_field_lists_available_ones(store: Store, catalog: Catalog) -> None:
    with pytest.raises(LabelingError) as e:
        LabelProjects(store, catalog).create(
            "p", "tickets", kind="correction", fields={"text": "labels.topic"}
        )
    assert "labels.intent" in str(e.value) and "text" in str(e.value)


def test_unknown_dataset_and_duplicate_name(store: Store, catalog: Catalog) -> None:
    projects = LabelProjects(store, catalog)
    with pytest.raises(LabelingError, match="no dataset tickets:9"):
        projects.create("p", "tickets:9", kind="rating")
    with pytest.raises(LabelingError, match="NAME:VERSION"):
        projects.create("p", "tickets:v1", kind="rating")
    projects.create("p", "tickets", kind="rating")
    with pytest.raises(LabelingError, match="exists"):
        projects.create("p", "tickets", kind="rating")
    with pytest.raises(LabelingError, match="no label project 'q'"):
        projects.get("q")


def test_progress_counts_labels_finished_items_and_annotators(
    store: Store, catalog: Catalog
) -> None:
    projects = LabelProjects(store, catalog)
    projects.create("r", "tickets", kind="rating", overlap=2)
    queue, notes = LabelQueue(store), Annotations(store)
    for annotator, n in [("alice", 3), ("张伟", 1)]:
        for _ in range(n):
            item = queue.next_item("r", annotator)
            assert item is not None
            notes.submit("r", item.id, annotator, 4)
    p = projects.progress("r")
    assert (p.items, p.labels, p.finished) == (6, 4, 1)
    assert p.per_annotator == {"alice": 3, "张伟": 1}
