from __future__ import annotations

import threading
from pathlib import Path

import pytest

from modelmint.catalog import Catalog
from modelmint.labeling import Annotations, LabelingError, LabelProjects, LabelQueue
from modelmint.store import LabelAssignment, Store
from support.labeling import register_tiny


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    c = Catalog(store, tmp_path / "artifacts")
    register_tiny(c)
    return c


def _project(store: Store, catalog: Catalog, overlap: int) -> None:
    LabelProjects(store, catalog).create(
        "q",
        "tickets",
        kind="classification",
        labels=["refund", "shipping", "account"],
        overlap=overlap,
    )


def test_least_confident_suggestion_first_then_position(store: Store, catalog: Catalog) -> None:
    _project(store, catalog, overlap=1)
    queue, notes = LabelQueue(store), Annotations(store)
    ids = []
    while (item := queue.next_item("q", "probe")) is not None:
        ids.append(item.id)
        notes.submit("q", item.id, "probe", "refund")
    assert len(ids) == 6
    # a second project over the same items, with suggestions on items 5 and 2
    LabelProjects(store, catalog).create(
        "q2", "tickets", kind="classification", labels=["refund", "shipping"]
    )
    items = []
    while (item := queue.next_item("q2", "x")) is not None:
        items.append(item)
        if len(items) == 1:
            break
    first = items[0]
    assert first.position == 0
    notes.submit("q2", first.id, "x", "refund")
    base = first.id
    notes.set_suggestion(base + 5, "shipping", 0.9, "classifier")
    notes.set_suggestion(base + 2, "refund", 0.3, "classifier")
    order = []
    while (item := queue.next_item("q2", "x")) is not None:
        order.append(item.position)
        notes.submit("q2", item.id, "x", "refund")
    assert order == [2, 5, 1, 3, 4]


def test_pending_item_comes_back_and_never_twice(store: Store, catalog: Catalog) -> None:
    _project(store, catalog, overlap=2)
    queue, notes = LabelQueue(store), Annotations(store)
    a = queue.next_item("q", "alice")
    assert a is not None and queue.next_item("q", "alice") == a  # reload: same item
    notes.submit("q", a.id, "alice", "refund")
    b = queue.next_item("q", "alice")
    assert b is not None and b.id != a.id
    assert queue.release("q", "alice") == 1
    with pytest.raises(LabelingError, match="annotator is empty"):
        queue.next_item("q", " ")


def test_overlap_limits_annotators_per_item(store: Store, catalog: Catalog) -> None:
    _project(store, catalog, overlap=2)
    queue = LabelQueue(store)
    served: dict[int, set[str]] = {}
    for annotator in ["a", "b", "c"]:
        notes = Annotations(store)
        while (item := queue.next_item("q", annotator)) is not None:
            served.setdefault(item.id, set()).add(annotator)
            notes.submit("q", item.id, annotator, "account")
    assert len(served) == 6 and all(len(v) == 2 for v in served.values())


def test_racing_annotators_never_exceed_overlap(store: Store, catalog: Catalog) -> None:
    _project(store, catalog, overlap=2)
    queue = LabelQueue(store)
    got: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def take(annotator: str) -> None:
        try:
            barrier.wait()
            while (item := queue.next_item("q", annotator)) is not None:
                got.append((annotator, item.id))
                Annotations(store).submit("q", item.id, annotator, "refund")
        except BaseException as e:  # reported below, not swallowed
            errors.append(e)

    threads = [threading.Thread(target=take, args=(f"ann{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    per_item: dict[int, list[str]] = {}
    for annotator, item_id in got:
        per_item.setdefault(item_id, []).append(annotator)
    assert len(per_item) == 6
    assert all(len(v) == 2 and len(set(v)) == 2 for v in per_item.values())
    with store.session() as s:
        assert s.query(LabelAssignment).count() == 12
