"""Label Studio JSON interchange: every project kind, Chinese and English, a byte-stable
round trip on the fields carried, and malformed files."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from modelmint.labeling.label_studio import (
    LabelStudioError,
    LSAnnotation,
    LSTask,
    from_label_studio,
    to_label_studio,
    to_label_studio_json,
)


def _dump(x: Any) -> str:
    return json.dumps(x, sort_keys=True, ensure_ascii=False)


def _region(rtype: str, value: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"from_name": "label", "to_name": "text", "type": rtype, "value": value, **more}


def _task(tid: Any, data: dict[str, Any], pred: Any, anns: list[dict[str, Any]]) -> dict[str, Any]:
    task: dict[str, Any] = {
        "id": tid,
        "data": data,
        "annotations": anns,
        "meta": {"来源": "客服", "batch": 3},  # unknown task field: must survive
        "created_at": "2026-11-01T08:00:00.000Z",
    }
    if pred is not None:
        task["predictions"] = [
            {
                "model_version": "clf-v2",
                "score": 0.62,
                "result": pred,
                "id": 77,
                "created_ago": "2 days",
            }
        ]
    return task


def _ann(by: Any, result: list[Any], lead: Any = 3.5, **more: Any) -> dict[str, Any]:
    return {"completed_by": by, "result": result, "lead_time": lead, "id": 1000, **more}


CASES: dict[str, tuple[list[str], list[dict[str, Any]]]] = {
    "classification": (
        ["正面", "负面", "neutral"],
        [
            _task(
                1,
                {"text": "这个产品太好用了！"},
                [_region("choices", {"choices": ["正面"]}, id="r1", origin="prediction")],
                [
                    _ann(7, [_region("choices", {"choices": ["正面"]}, id="a1", origin="manual")]),
                    _ann(
                        {"id": 8, "email": "li@example.com"},
                        [_region("choices", {"choices": ["负面"]})],
                        12,
                    ),
                ],
            ),
            _task("t-2", {"text": "Arrived late, box crushed."}, None, []),
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
def test_round_trip_is_byte_for_byte_stable(kind: str) -> None:
    labels, source = CASES[kind]
    original = _dump(source)
    tasks = from_label_studio(original, kind, labels)
    assert _dump(to_label_studio(kind, labels, tasks)) == original
    # and again from the export itself, through the text form
    again = from_label_studio(to_label_studio_json(kind, labels, tasks), kind, labels)
    assert _dump(to_label_studio(kind, labels, again)) == original
    assert source == CASES[kind][1]  # reading did not change the caller's data


def test_import_maps_each_kind_to_plain_values() -> None:
    t = from_label_studio(CASES["classification"][1], "classification", CASES["classification"][0])
    assert (t[0].id, t[0].content, t[0].suggestion, t[0].confidence, t[0].model_version) == (
        1,
        {"text": "这个产品太好用了！"},
        "正面",
        0.62,
        "clf-v2",
    )
    assert [(a.annotator, a.value, a.seconds) for a in t[0].annotations] == [
        ("7", "正面", 3.5),
        ("li@example.com", "负面", 12),
    ]
    assert (t[1].id, t[1].suggestion, t[1].annotations) == ("t-2", None, [])

    m = from_label_studio(CASES["multilabel"][1], "multilabel", CASES["multilabel"][0])
    assert m[0].suggestion == ["price", "物流"] and m[0].annotations[0].value == ["物流", "price"]
    assert m[0].annotations[0].annotator == "zhang@example.com"

    r = from_label_studio(CASES["rating"][1], "rating", [])
    assert r[0].suggestion == 4
    assert [(a.value, a.seconds) for a in r[0].annotations] == [(2, 0), (None, 1.25)]

    c = from_label_studio(CASES["correction"][1], "correction", [])
    assert c[0].suggestion == "早上好吗"
    assert [a.value for a in c[0].annotations] == ["早上好", "早上好\nGood morning"]

    p = from_label_studio(CASES["preference"][1], "preference", ["A", "B"])
    assert p[0].suggestion == "A" and [a.value for a in p[0].annotations] == ["B", "A"]


def test_changed_values_are_written_and_the_rest_kept() -> None:
    labels, source = CASES["classification"]
    tasks = from_label_studio(source, "classification", labels)
    tasks[0].annotations[0].value = "负面"
    tasks[0].annotations[1].annotator = "wang"
    tasks[0].suggestion, tasks[0].confidence = "neutral", 0.9
    out = to_label_studio("classification", labels, tasks)
    first = out[0]["annotations"][0]
    assert first["result"] == [_region("choices", {"choices": ["负面"]}, id="a1", origin="manual")]
    assert first["id"] == 1000 and first["lead_time"] == 3.5
    assert out[0]["annotations"][1]["completed_by"] == "wang"
    pred = out[0]["predictions"][0]
    assert (pred["score"], pred["result"][0]["value"], pred["id"]) == (
        0.9,
        {"choices": ["neutral"]},
        77,
    )
    assert out[0]["meta"] == {"来源": "客服", "batch": 3}


def test_export_of_fresh_tasks_from_the_database() -> None:
    tasks = [
        LSTask(
            id=4,
            content={"text": "物流很快"},
            suggestion="正面",
            confidence=0.8,
            model_version="clf-v3",
            annotations=[LSAnnotation("li", "正面", 2.0), LSAnnotation("bob", "负面")],
        ),
        LSTask(id=None, content={"text": "plain"}),
    ]
    out = to_label_studio("classification", ["正面", "负面"], tasks)
    assert out[0] == {
        "id": 4,
        "data": {"text": "物流很快"},
        "predictions": [
            {
                "model_version": "clf-v3",
                "score": 0.8,
                "result": [_region("choices", {"choices": ["正面"]})],
            }
        ],
        "annotations": [
            {
                "completed_by": "li",
                "lead_time": 2.0,
                "result": [_region("choices", {"choices": ["正面"]})],
            },
            {"completed_by": "bob", "result": [_region("choices", {"choices": ["负面"]})]},
        ],
    }
    assert out[1] == {"data": {"text": "plain"}, "annotations": []}
    # and it reads back to the same values
    back = from_label_studio(out, "classification", ["正面", "负面"])
    assert [(a.annotator, a.value, a.seconds) for a in back[0].annotations] == [
        ("li", "正面", 2.0),
        ("bob", "负面", None),
    ]
    pref = to_label_studio(
        "preference",
        ["A", "B"],
        [LSTask(id=1, content={"a": "x", "b": "y"}, annotations=[LSAnnotation("u", "B")])],
    )
    assert pref[0]["annotations"][0]["result"][0]["value"] == {"selected": "right"}


def _bad(kind: str, labels: list[str], tasks: Any, match: str) -> None:
    with pytest.raises(LabelStudioError, match=match):
        from_label_studio(tasks, kind, labels)


def test_malformed_input_names_the_task_and_field() -> None:
    ok = {"id": 1, "data": {"text": "hi"}}
    _bad("classification", [], "[{", "not valid JSON at line 1")
    _bad("classification", [], '{"data": {}}', "expected a list of tasks")
    _bad("classification", [], [ok, "x"], r"task 1: a task must be an object")
    _bad("classification", [], [ok, {"id": 2}], r"task 1\.data: missing")
    _bad("classification", [], [{"data": "text"}], r"task 0\.data: must be an object")
    _bad("classification", [], [{"id": [1], "data": {}}], r"task 0\.id")
    choose = {
        "id": 1,
        "data": {},
        "annotations": [_ann(1, [_region("choices", {"choices": ["猫"]})])],
    }
    _bad(
        "classification",
        ["狗"],
        [choose],
        r"task 0\.annotations\[0\]\.result\[0\]\.value\.choices: '猫' is not one",
    )
    two = {"data": {}, "annotations": [_ann(1, [_region("choices", {"choices": ["a", "b"]})])]}
    _bad("classification", [], [two], "exactly one choice")
    _bad(
        "multilabel",
        [],
        [{"data": {}, "annotations": [_ann(1, [_region("choices", {"choices": ["a", "a"]})])]}],
        "chosen twice",
    )
    _bad(
        "rating",
        [],
        [{"data": {}, "annotations": [_ann(1, [_region("rating", {"rating": 6})])]}],
        r"annotations\[0\]\.result\[0\]\.value\.rating: a rating must be",
    )
    _bad(
        "rating",
        [],
        [{"data": {}, "annotations": [_ann(1, [_region("rating", {})])]}],
        r"value\.rating: missing",
    )
    _bad(
        "correction",
        [],
        [{"data": {}, "annotations": [_ann(1, [_region("textarea", {"text": "x"})])]}],
        "list of strings",
    )
    _bad(
        "preference",
        ["A", "B"],
        [{"data": {}, "annotations": [_ann(1, [_region("pairwise", {"selected": "up"})])]}],
        "'left' or 'right'",
    )
    _bad(
        "classification",
        [],
        [{"data": {}, "annotations": [{"result": []}]}],
        r"annotations\[0\]\.completed_by: missing",
    )
    _bad("classification", [], [{"data": {}, "annotations": [_ann(None, [])]}], "completed_by")
    _bad("classification", [], [{"data": {}, "annotations": [_ann(1, [], -1)]}], "lead_time")
    _bad(
        "classification",
        [],
        [{"data": {}, "predictions": [{"score": "high", "result": []}]}],
        r"predictions\[0\]\.score",
    )
    _bad(
        "classification",
        [],
        [{"data": {}, "predictions": {}}],
        r"task 0\.predictions: must be a list",
    )
    _bad("sentiment", [], [], "project kind 'sentiment'")
    _bad("preference", ["A"], [], "exactly two labels")


def test_errors_leave_the_input_untouched() -> None:
    source = copy.deepcopy(CASES["rating"][1])
    bad_task = {"data": {}, "annotations": [_ann(1, [_region("rating", {"rating": 0})])]}
    broken = [*copy.deepcopy(source), bad_task]
    snapshot = _dump(broken)
    with pytest.raises(LabelStudioError, match="task 1"):
        from_label_studio(broken, "rating", [])
    assert _dump(broken) == snapshot


def test_round_trip_keeps_odd_shapes() -> None:
    source = [
        # no annotations key, two predictions, one without score, a region without result
        {
            "id": 1,
            "data": {"text": "双预测"},
            "predictions": [
                {"model_version": "m1", "result": [_region("choices", {"choices": ["a"]})]},
                {"model_version": "m2", "score": 0.1, "result": []},
            ],
        },
        {
            "id": 2,
            "data": {"text": "empty"},
            "predictions": [],
            "annotations": [{"completed_by": 1}],
        },
        {"id": 3, "data": {}, "annotations": [_ann(1, [_region("labels", {"labels": ["x"]})])]},
    ]
    tasks = from_label_studio(source, "classification", ["a"])
    assert tasks[0].suggestion == "a" and tasks[0].confidence is None
    assert tasks[2].annotations[0].value is None
    assert _dump(to_label_studio("classification", ["a"], tasks)) == _dump(source)
    # removing a label drops its region only
    tasks[0].suggestion = None
    out = to_label_studio("classification", ["a"], tasks)
    assert out[0]["predictions"][0]["result"] == []
    assert out[0]["predictions"][1]["model_version"] == "m2"
