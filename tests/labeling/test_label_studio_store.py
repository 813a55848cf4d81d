"""Label Studio JSON through the database: file -> project -> file is byte-for-byte the
same on the fields carried, for every kind, on SQLite and PostgreSQL; labels given in
modelmint export as Label Studio annotations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from modelmint.catalog import Catalog
from modelmint.cli.main import app
from modelmint.labeling import Annotations, LabelingError, LabelProjects, final_labels
from modelmint.labeling.label_studio_store import export_label_studio, import_label_studio
from modelmint.labeling.review import Review
from modelmint.store import Annotation, LabelItem, Store
from support.labeling import register_tiny


def _dump(x: Any) -> str:
    return json.dumps(x, sort_keys=True, ensure_ascii=False)


def _region(rtype: str, value: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"from_name": "label", "to_name": "text", "type": rtype, "value": value, **more}


def _ann(by: Any, result: list[Any], lead: Any = 3.5, **more: Any) -> dict[str, Any]:
    return {"completed_by": by, "result": result, "lead_time": lead, "id": 1000, **more}


def _task(tid: Any, data: dict[str, Any], pred: Any, anns: list[Any], score: Any = 0.62) -> Any:
    task: dict[str, Any] = {
        "id": tid,
        "data": data,
        "annotations": anns,
        "meta": {"来源": "客服", "batch": 3},
        "created_at": "2026-11-01T08:00:00.000Z",
    }
    if pred is not None:
        task["predictions"] = [
            {"model_version": "clf-v2", "score": score, "result": pred, "id": 77},
            {"model_version": "older", "result": []},
        ]
    return task


CASES: dict[str, tuple[list[str], list[dict[str, Any]]]] = {
    "classification": (
        ["正面", "负面", "neutral"],
        [
            _task(
                1,
                {"text": "这个产品太好用了！"},
                [_region("choices", {"choices": ["正面"]}, id="r1", origin="prediction")],
                [
                    _ann(7, [_region("choices", {"choices": ["正面"]}, id="a1")]),
                    _ann(
                        {"id": 8, "email": "li@example.com"},
                        [_region("choices", {"choices": ["负面"]})],
                        12,
                    ),
                ],
                score=1,  # an integer score stays an integer
            ),
            _task("t-2", {"text": "Arrived late, box crushed."}, None, []),
            {"id": 3, "data": {"text": "no annotations key"}},
        ],
    ),
    "multilabel": (
        ["物流", "price", "quality"],
        [
            _task(
                5,
                {"text": "Cheap but 快递太慢"},
                [_region("choices", {"choices": ["price", "物流"]})],
                [_ann("zhang@example.com", [_region("choices", {"choices": ["物流", "price"]})])],
            )
        ],
    ),
    "rating": (
        [],
        [
            _task(
                9,
                {"prompt": "总结这段话", "answer": "A summary."},
                [_region("rating", {"rating": 4})],
                [
                    _ann(3, [_region("rating", {"rating": 2})], 0),
                    _ann(4, [], 1.25, was_cancelled=True),
                ],
            )
        ],
    ),
    "correction": (
        [],
        [
            _task(
                11,
                {"text": "Translate: good morning", "answer": "早上好吗"},
                [_region("textarea", {"text": ["早上好吗"]})],
                [
                    _ann(2, [_region("textarea", {"text": ["早上好"]})]),
                    _ann(3, [_region("textarea", {"text": ["早上好", "Good morning"]})]),
                ],
            )
        ],
    ),
    "preference": (
        ["A", "B"],
        [
            _task(
                13,
                {"prompt": "写一首诗", "answer_a": "床前明月光", "answer_b": "Roses are red"},
                [_region("pairwise", {"selected": "left"}, to_name="comparison")],
                [
                    _ann(1, [_region("pairwise", {"selected": "right"})]),
                    _ann(
                        2,
                        [
                            _region("choices", {"choices": ["x"]}),
                            _region("pairwise", {"selected": "left"}),
                        ],
                    ),
                ],
            )
        ],
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_file_to_database_to_file_is_byte_identical(store: Store, kind: str) -> None:
    labels, source = CASES[kind]
    original = _dump(source)
    res = import_label_studio(store, f"ls-{kind}", original, kind=kind, labels=labels, overlap=2)
    assert res.tasks == len(source)
    assert _dump(json.loads(export_label_studio(store, f"ls-{kind}"))) == original


def test_import_maps_tasks_to_items_suggestions_and_annotations(store: Store) -> None:
    labels, source = CASES["classification"]
    res = import_label_studio(store, "c", source, kind="classification", labels=labels, overlap=2)
    assert (res.tasks, res.annotations, res.suggestions) == (3, 2, 1)
    assert res.project.dataset is None and res.project.fields == {"text": "text"}
    with store.session() as s:
        items = list(s.scalars(select(LabelItem).order_by(LabelItem.position)))
        first = items[0]
        assert (first.external_id, first.content) == ("1", {"text": "这个产品太好用了！"})
        assert (first.suggestion, first.confidence, first.suggestion_source) == (
            "正面",
            1.0,
            "label-studio",
        )
        notes = list(s.scalars(select(Annotation).order_by(Annotation.id)))
        assert [(n.annotator, n.value, n.suggestion_use, n.seconds) for n in notes] == [
            ("7", "正面", "accepted", 3.5),
            ("li@example.com", "负面", "overrode", 12.0),
        ]
    assert final_labels(store, "c").ties == [first.id]
    assert [q.item_id for q in Review(store).queue("c")] == [first.id]


def test_labels_given_here_export_as_annotations(store: Store) -> None:
    labels, source = CASES["classification"]
    import_label_studio(store, "c", source, kind="classification", labels=labels, overlap=2)
    with store.session() as s:
        second = s.scalars(select(LabelItem).where(LabelItem.position == 1)).one().id
        first = s.scalars(select(LabelItem).where(LabelItem.position == 0)).one().id
    Annotations(store).submit("c", second, "王芳", "负面", seconds=2)
    Annotations(store).submit("c", first, "7", "负面")  # an imported label changed here
    Review(store).resolve("c", first, "boss", "正面")
    out = json.loads(export_label_studio(store, "c"))
    ann = out[1]["annotations"]
    assert ann == [
        {
            "completed_by": "王芳",
            "lead_time": 2.0,
            "result": [
                {
                    "from_name": "label",
                    "to_name": "text",
                    "type": "choices",
                    "value": {"choices": ["负面"]},
                }
            ],
        }
    ]
    first_anns = out[0]["annotations"]
    assert first_anns[0]["completed_by"] == 7 and first_anns[0]["id"] == 1000
    assert first_anns[0]["result"][0]["value"] == {"choices": ["负面"]}
    assert first_anns[0]["result"][0]["id"] == "a1"  # the region's own fields kept
    assert first_anns[2]["completed_by"] == "review:boss"
    assert out[2] == {"id": 3, "data": {"text": "no annotations key"}}


def test_export_of_a_project_made_from_a_dataset(store: Store, tmp_path: Path) -> None:
    catalog = Catalog(store, tmp_path / "artifacts")
    register_tiny(catalog)
    LabelProjects(store, catalog).create("d", "tickets", labels=["refund", "shipping", "account"])
    with store.session() as s:
        first = s.scalars(select(LabelItem).where(LabelItem.position == 0)).one().id
    notes = Annotations(store)
    notes.set_suggestion(first, "refund", 0.9, "classifier")
    notes.submit("d", first, "li", "shipping")
    out = json.loads(export_label_studio(store, "d"))
    assert (
        len(out) == 6
        and out[0]["id"] == "r1"
        and out[0]["data"] == {"text": "I want a refund for my order"}
    )
    assert out[0]["predictions"][0]["model_version"] == "classifier"
    assert out[0]["predictions"][0]["score"] == 0.9
    assert out[0]["annotations"][0]["completed_by"] == "li"
    assert out[1]["annotations"] == [] and "predictions" not in out[1]
    # and that export imports back to the same labels
    res = import_label_studio(
        store, "again", out, kind="classification", labels=["refund", "shipping", "account"]
    )
    assert res.annotations == 1 and res.suggestions == 1


def test_same_user_twice_on_a_task_is_refused(store: Store) -> None:
    twice = [_task(4, {"text": "x"}, None, [_ann(7, []), _ann(7, [])])]
    with pytest.raises(
        LabelingError, match=r"task 0 \(id 4\)\.annotations\[1\]: user '7' annotated"
    ):
        import_label_studio(store, "t", twice, kind="classification", labels=["a", "b"])
    with pytest.raises(LabelingError, match="no label project 't'"):
        export_label_studio(store, "t")  # nothing was written


def test_existing_name_and_bad_file_are_clear(store: Store) -> None:
    labels, source = CASES["multilabel"]
    import_label_studio(store, "m", source, kind="multilabel", labels=labels)
    with pytest.raises(LabelingError, match="'m' exists"):
        import_label_studio(store, "m", source, kind="multilabel", labels=labels)
    with pytest.raises(ValueError, match=r"task 0\.data: missing"):
        import_label_studio(store, "n", [{"id": 1}], kind="multilabel", labels=labels)


def test_cli_import_and_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "300")
    _, source = CASES["preference"]
    src = tmp_path / "ls.json"
    src.write_text(_dump(source), encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(
        app, ["label", "import-ls", str(src), "--project", "pref", "--kind", "preference"]
    )
    assert r.exit_code == 0 and "1 tasks, 2 annotations, 1 predictions" in r.output, r.output
    out = tmp_path / "out.json"
    r = runner.invoke(app, ["label", "export-ls", "pref", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert _dump(json.loads(out.read_text(encoding="utf-8"))) == _dump(source)
    r = runner.invoke(app, ["label", "import-ls", str(tmp_path / "nope.json"), "--project", "x"])
    assert r.exit_code == 1 and "no such file" in r.output
