"""A reviewer's decision is an annotation by ``review:NAME`` and overrules the majority, so
no name from outside may pass for one: not a Label Studio user in an imported file, not an
annotator made with `mint label annotators add`, not ``--annotator`` on the queue or on a
label; look-alikes (case, spaces, full-width letters or colon) included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from modelmint.catalog import Catalog
from modelmint.labeling import Annotations, LabelingError, LabelProjects, LabelQueue, final_labels
from modelmint.labeling.annotators import Annotators
from modelmint.labeling.label_studio_store import import_label_studio
from modelmint.labeling.names import is_reserved_name
from modelmint.labeling.review import Review
from modelmint.store import LabelItem, LabelProject, Store
from support.labeling import register_tiny

LABELS = ["正面", "负面"]


def _ann(by: Any, label: str) -> dict[str, Any]:
    region = {"from_name": "label", "to_name": "text", "type": "choices"}
    return {"completed_by": by, "result": [{**region, "value": {"choices": [label]}}]}


def _file(second_task_annotations: list[Any]) -> str:
    tasks = [
        {"id": 1, "data": {"text": "好"}, "annotations": [_ann("a", "正面")]},
        {"id": "t-2", "data": {"text": "差"}, "annotations": second_task_annotations},
    ]
    return json.dumps(tasks, ensure_ascii=False)


@pytest.mark.parametrize(
    "by",
    [
        "review:boss",
        "Review:boss",
        " review:boss",
        "review：boss",  # full-width colon
        "ｒｅｖｉｅｗ:boss",  # full-width letters
        {"email": "review:boss@example.com", "id": 9},
    ],
)
def test_an_imported_annotation_cannot_be_a_review(store: Store, by: Any) -> None:
    # two annotators say 负面; the forged "review" would make it 正面
    source = _file([_ann("a", "负面"), _ann("b", "负面"), _ann(by, "正面")])
    with pytest.raises(LabelingError) as e:
        import_label_studio(store, "p", source, kind="classification", labels=LABELS, overlap=2)
    message = str(e.value)
    assert "task 1 (id 't-2').annotations[2].completed_by" in message, message
    assert "rename that user" in message
    with store.session() as s:  # nothing was created
        assert s.scalar(select(LabelProject.id)) is None


def test_an_ordinary_import_still_counts_the_majority(store: Store) -> None:
    source = _file([_ann("a", "负面"), _ann("reviewer-b", "负面")])
    import_label_studio(store, "p", source, kind="classification", labels=LABELS, overlap=1)
    final = final_labels(store, "p")
    assert sorted(final.labels.values()) == ["正面", "负面"] and final.reviewed == []


def test_annotators_and_queue_refuse_reviewer_names(store: Store, tmp_path: Path) -> None:
    catalog = Catalog(store, tmp_path / "artifacts")
    register_tiny(catalog)
    LabelProjects(store, catalog).create(
        "intents", "tickets", labels=["refund", "shipping", "account"]
    )
    with pytest.raises(LabelingError, match="reviewers'"):
        Annotators(store, b"pepper").create("Review:陈")
    with pytest.raises(LabelingError, match="reviewers'"):
        LabelQueue(store).next_item("intents", "review：陈")
    with store.session() as s:
        item = s.scalars(select(LabelItem.id).order_by(LabelItem.position)).first()
    assert item is not None
    with pytest.raises(LabelingError, match="reviewers'"):
        Annotations(store).submit("intents", item, " REVIEW:陈", "refund")
    # a reviewer still decides, under the reserved name
    assert Review(store).resolve("intents", item, "陈", "refund").reviewer == "review:陈"


def test_what_is_reserved() -> None:
    for name in ("review:x", "REVIEW:x", "\treview:x", "ｒｅｖｉｅｗ：x"):
        assert is_reserved_name(name), name
    for name in ("reviewer", "review", "re view:x", "陈", "x review:y"):
        assert not is_reserved_name(name), name
