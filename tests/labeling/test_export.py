from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelmint.catalog import Catalog
from modelmint.labeling import Annotations, LabelingError, LabelProjects, LabelQueue, export_labels
from modelmint.store import Store
from modelmint.store.catalog_tables import Dataset
from support.labeling import register_tiny


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    c = Catalog(store, tmp_path / "artifacts")
    register_tiny(c)
    return c


def _label(store: Store, project: str, plan: dict[str, list[object]]) -> None:
    queue, notes = LabelQueue(store), Annotations(store)
    for annotator, values in plan.items():
        for value in values:
            item = queue.next_item(project, annotator)
            assert item is not None
            notes.submit(project, item.id, annotator, value)


def test_export_majority_labels_as_new_dataset_version(store: Store, catalog: Catalog) -> None:
    LabelProjects(store, catalog).create(
        "sentiment", "tickets:1", kind="classification", labels=["正面", "负面"], overlap=2
    )
    with pytest.raises(LabelingError, match="no finished labels"):
        export_labels(store, catalog, "sentiment", "tickets-labeled")
    _label(
        store,
        "sentiment",
        {"a": ["负面", "负面", "正面", "正面"], "b": ["负面", "正面", "正面"]},
    )
    result = export_labels(store, catalog, "sentiment", "tickets-labeled")
    assert (result.exported, result.ties, result.unfinished) == (2, 1, 3)
    ds = result.dataset
    assert result.created and ds.label == "tickets-labeled:1" and ds.splits == {"train": 2}
    rows = ds.read_split("train")
    assert [(r["id"], r["text"], r["label"]) for r in rows] == [
        ("r1", "I want a refund for my order", "负面"),
        ("r3", "Where is my package?", "正面"),
    ]
    assert rows[0]["labels"] == {"intent": "refund", "label": "负面"}
    assert (ds.path / "report.json").exists()
    with store.session() as s:
        row = s.get_one(Dataset, ds.id)
        assert row.source == "label project sentiment over tickets:1 train"
    # the same labels export to the same version; a new label makes a new one
    again = export_labels(store, catalog, "sentiment", "tickets-labeled")
    assert (again.created, again.dataset.version) == (False, 1)
    _label(store, "sentiment", {"b": ["正面"]})  # b agrees with a on position 3
    newer = export_labels(store, catalog, "sentiment", "tickets-labeled")
    assert newer.dataset.version == 2 and newer.exported == 3


def test_export_of_multilabel_and_rating_values(store: Store, catalog: Catalog) -> None:
    LabelProjects(store, catalog).create(
        "tags", "tickets", split="test", kind="multilabel", labels=["urgent", "vip"]
    )
    _label(store, "tags", {"a": [["vip", "urgent"], []]})
    rows = export_labels(store, catalog, "tags", "tags-out").dataset.read_split("test")
    assert [json.loads(r["label"]) for r in rows] == [["urgent", "vip"], []]
    LabelProjects(store, catalog).create("stars", "tickets", kind="rating")
    _label(store, "stars", {"a": [5]})
    rows = export_labels(store, catalog, "stars", "stars-out").dataset.read_split("train")
    assert [r["label"] for r in rows] == ["5"]


def test_bad_dataset_name_leaves_no_staging(store: Store, catalog: Catalog) -> None:
    LabelProjects(store, catalog).create("stars", "tickets", kind="rating")
    _label(store, "stars", {"a": [2]})
    with pytest.raises(ValueError, match="invalid name"):
        export_labels(store, catalog, "stars", "bad name!")
    assert list((catalog.artifacts_dir / "staging").iterdir()) == []
