"""Label Studio JSON interchange: a list of tasks, each ``{"id", "data", "predictions":
[{"model_version", "score", "result": [...]}], "annotations": [{"completed_by", "result":
[...], "lead_time", ...}]}``, mapped to and from plain dataclasses the labeling tables can
store.

One result region per annotation carries the label, by project kind:

=================  ============  ==========================================
kind               region type   value
=================  ============  ==========================================
classification     choices       ``{"choices": [label]}``
multilabel         choices       ``{"choices": [label, ...]}``
rating             rating        ``{"rating": 1..5}``
correction         textarea      ``{"text": ["corrected answer"]}``
preference         pairwise      ``{"selected": "left"|"right"}`` (labels[0]/[1])
=================  ============  ==========================================

Lossless on what it carries: everything else in a task, a prediction, an annotation or a
region (ids, timestamps, ``from_name``/``to_name``, further predictions or regions) is
kept in ``passthrough``/``extra`` and written back, so ``to_label_studio(from_label_studio(x))``
equals ``x`` (compare with ``json.dumps(..., sort_keys=True, ensure_ascii=False)``).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from modelmint.errors import UserError

KINDS = ("classification", "multilabel", "rating", "correction", "preference")
_REGION_TYPE = {
    "classification": "choices",
    "multilabel": "choices",
    "rating": "rating",
    "correction": "textarea",
    "preference": "pairwise",
}
_VALUE_KEY = {
    "classification": "choices",
    "multilabel": "choices",
    "rating": "rating",
    "correction": "text",
    "preference": "selected",
}
_SIDES = ("left", "right")


class LabelStudioError(UserError, ValueError):
    """A Label Studio file that cannot be read; the message names the task and field."""


@dataclass
class LSAnnotation:
    """One person's label: ``value`` is a label (classification, preference: one of the
    project's labels), a list of labels (multilabel), an int 1-5 (rating) or the corrected
    text (correction); None when the annotation has no label region (e.g. skipped).
    ``extra`` holds what Label Studio had beside these, to write back unchanged."""

    annotator: str
    value: Any
    seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LSTask:
    """One item: ``content`` is Label Studio's ``data``; the suggestion and its confidence
    come from the first prediction (``model_version`` names the model that made it)."""

    id: int | str | None
    content: dict[str, Any]
    suggestion: Any = None
    confidence: float | None = None
    model_version: str | None = None
    annotations: list[LSAnnotation] = field(default_factory=list)
    passthrough: dict[str, Any] = field(default_factory=dict)  # unknown task fields
    prediction_extra: dict[str, Any] = field(default_factory=dict)
    annotations_absent: bool = False  # the task had no "annotations" key: write none back


# --- import ------------------------------------------------------------------------------


def from_label_studio(
    source: str | bytes | list[Any], kind: str, labels: list[str]
) -> list[LSTask]:
    """Read Label Studio tasks (JSON text or the parsed list) for a project of ``kind``
    with the choices ``labels``. Raises :class:`LabelStudioError` naming the task index and
    field of the first problem."""
    _check_kind(kind, labels)
    if isinstance(source, str | bytes):
        try:
            source = json.loads(source)
        except json.JSONDecodeError as e:
            raise LabelStudioError(
                f"Label Studio JSON: not valid JSON at line {e.lineno} column {e.colno}: {e.msg}"
            ) from e
    if not isinstance(source, list):
        raise LabelStudioError(
            "Label Studio JSON: expected a list of tasks (Label Studio's JSON export), got "
            f"{type(source).__name__}"
        )
    return [_read_task(i, t, kind, labels) for i, t in enumerate(source)]


def _read_task(i: int, task: Any, kind: str, labels: list[str]) -> LSTask:
    where = f"task {i}"
    if not isinstance(task, dict):
        raise LabelStudioError(f"{where}: a task must be an object, got {type(task).__name__}")
    rest = dict(task)
    task_id = rest.pop("id", None)
    if task_id is not None and (isinstance(task_id, bool) or not isinstance(task_id, int | str)):
        raise LabelStudioError(f"{where}.id: must be a number or a string, got {task_id!r}")
    if "data" not in rest:
        raise LabelStudioError(f"{where}.data: missing; each task needs its item under 'data'")
    data = rest.pop("data")
    if not isinstance(data, dict):
        raise LabelStudioError(f"{where}.data: must be an object, got {type(data).__name__}")
    out = LSTask(id=task_id, content=data)
    if "predictions" in rest:
        preds = rest.pop("predictions")
        if not isinstance(preds, list):
            raise LabelStudioError(f"{where}.predictions: must be a list")
        if preds:
            _read_prediction(f"{where}.predictions[0]", preds[0], kind, labels, out)
        out.prediction_extra["present"] = True
        if len(preds) > 1:
            out.prediction_extra["others"] = preds[1:]
    if "annotations" in rest:
        anns = rest.pop("annotations")
        if not isinstance(anns, list):
            raise LabelStudioError(f"{where}.annotations: must be a list")
        out.annotations = [
            _read_annotation(f"{where}.annotations[{j}]", a, kind, labels)
            for j, a in enumerate(anns)
        ]
    else:
        out.annotations_absent = True
    out.passthrough = rest
    return out


def _read_prediction(where: str, pred: Any, kind: str, labels: list[str], out: LSTask) -> None:
    if not isinstance(pred, dict):
        raise LabelStudioError(f"{where}: a prediction must be an object")
    rest = dict(pred)
    score = rest.pop("score", None)
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        raise LabelStudioError(f"{where}.score: must be a number, got {score!r}")
    version = rest.pop("model_version", None)
    if version is not None and not isinstance(version, str):
        raise LabelStudioError(f"{where}.model_version: must be a string, got {version!r}")
    value, region = _read_result(where, rest.pop("result", None), kind, labels)
    out.suggestion, out.confidence, out.model_version = value, score, version
    out.prediction_extra.update({"fields": rest, "region": region, "has_score": "score" in pred})
    out.prediction_extra["has_version"] = "model_version" in pred


def _read_annotation(where: str, ann: Any, kind: str, labels: list[str]) -> LSAnnotation:
    if not isinstance(ann, dict):
        raise LabelStudioError(f"{where}: an annotation must be an object")
    rest = dict(ann)
    if "completed_by" not in rest:
        raise LabelStudioError(f"{where}.completed_by: missing; who made this annotation?")
    raw_by = rest.pop("completed_by")
    annotator = _annotator_name(where, raw_by)
    seconds = rest.pop("lead_time", None)
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0
    ):
        raise LabelStudioError(
            f"{where}.lead_time: must be a number of seconds >= 0, got {seconds!r}"
        )
    value, region = _read_result(where, rest.pop("result", None), kind, labels)
    extra: dict[str, Any] = {"fields": rest, "region": region, "has_lead_time": "lead_time" in ann}
    if raw_by != annotator:
        extra["completed_by"] = raw_by
    return LSAnnotation(annotator, value, seconds, extra)


def _annotator_name(where: str, raw: Any) -> str:
    # Label Studio writes a user id, or in some exports the user object
    if isinstance(raw, str) and raw:
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, dict):
        for key in ("email", "username", "id"):
            if raw.get(key) not in (None, ""):
                return str(raw[key])
    raise LabelStudioError(
        f"{where}.completed_by: {raw!r} is not a user id, a name or a user object with an email"
    )


def _read_result(
    where: str, result: Any, kind: str, labels: list[str]
) -> tuple[Any, dict[str, Any]]:
    """The label in the first region of the kind's type, and what to write it back with."""
    if result is None:
        return None, {"absent": True}
    if not isinstance(result, list):
        raise LabelStudioError(f"{where}.result: must be a list of regions")
    for r, region in enumerate(result):
        rw = f"{where}.result[{r}]"
        if not isinstance(region, dict):
            raise LabelStudioError(f"{rw}: a region must be an object")
        if region.get("type") != _REGION_TYPE[kind]:
            continue
        value = region.get("value")
        if not isinstance(value, dict) or _VALUE_KEY[kind] not in value:
            raise LabelStudioError(
                f"{rw}.value.{_VALUE_KEY[kind]}: missing in a {region['type']} region"
            )
        label, text_list = _decode(
            f"{rw}.value.{_VALUE_KEY[kind]}", value[_VALUE_KEY[kind]], kind, labels
        )
        kept = copy.deepcopy(result)
        del kept[r]["value"][_VALUE_KEY[kind]]
        info: dict[str, Any] = {"results": kept, "index": r}
        if text_list is not None:
            info["text_list"] = text_list
        return label, info
    return None, {"results": copy.deepcopy(result)}


def _decode(where: str, raw: Any, kind: str, labels: list[str]) -> tuple[Any, list[str] | None]:
    if kind in ("classification", "multilabel"):
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            raise LabelStudioError(f"{where}: must be a list of label names, got {raw!r}")
        unknown = [c for c in raw if labels and c not in labels]
        if unknown:
            raise LabelStudioError(
                f"{where}: {unknown[0]!r} is not one of the project's labels {labels}; add it "
                "to the project's labels or fix the file"
            )
        if kind == "classification":
            if len(raw) != 1:
                raise LabelStudioError(
                    f"{where}: a classification takes exactly one choice, got {len(raw)}; "
                    "use a multilabel project for several"
                )
            return raw[0], None
        if len(set(raw)) != len(raw):
            raise LabelStudioError(f"{where}: a label is chosen twice in {raw!r}")
        return list(raw), None
    if kind == "rating":
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 5:
            raise LabelStudioError(f"{where}: a rating must be a whole number 1-5, got {raw!r}")
        return raw, None
    if kind == "correction":
        if not isinstance(raw, list) or not raw or not all(isinstance(t, str) for t in raw):
            raise LabelStudioError(f"{where}: must be a non-empty list of strings, got {raw!r}")
        # several textarea entries become one text; the list is kept to write back as it was
        return "\n".join(raw), (list(raw) if len(raw) != 1 else None)
    if raw not in _SIDES:
        raise LabelStudioError(f"{where}: must be 'left' or 'right', got {raw!r}")
    return labels[_SIDES.index(raw)], None


# --- export ------------------------------------------------------------------------------


def to_label_studio(kind: str, labels: list[str], tasks: list[LSTask]) -> list[dict[str, Any]]:
    """Label Studio tasks for ``tasks``; what was read with :func:`from_label_studio` and
    not changed is written back exactly as it was."""
    _check_kind(kind, labels)
    out: list[dict[str, Any]] = []
    for t in tasks:
        task: dict[str, Any] = copy.deepcopy(t.passthrough)
        if t.id is not None:
            task["id"] = t.id
        task["data"] = copy.deepcopy(t.content)
        pe = t.prediction_extra
        has_prediction = (
            t.suggestion is not None or t.confidence is not None or bool(pe.get("fields"))
        )
        if has_prediction or pe.get("present"):
            preds: list[Any] = []
            if has_prediction or "region" in pe:
                pred: dict[str, Any] = copy.deepcopy(pe.get("fields", {}))
                if t.model_version is not None or pe.get("has_version"):
                    pred["model_version"] = t.model_version
                if t.confidence is not None or pe.get("has_score"):
                    pred["score"] = t.confidence
                result = _write_result(kind, labels, t.suggestion, pe.get("region"), t.content)
                if result is not None:
                    pred["result"] = result
                preds.append(pred)
            preds.extend(copy.deepcopy(pe.get("others", [])))
            task["predictions"] = preds
        if t.annotations or not t.annotations_absent:
            task["annotations"] = [
                _write_annotation(kind, labels, a, t.content) for a in t.annotations
            ]
        out.append(task)
    return out


def to_label_studio_json(kind: str, labels: list[str], tasks: list[LSTask]) -> str:
    """The export as text: UTF-8 friendly (Chinese stays readable), keys sorted."""
    return json.dumps(
        to_label_studio(kind, labels, tasks), ensure_ascii=False, sort_keys=True, indent=2
    )


def _write_annotation(
    kind: str, labels: list[str], a: LSAnnotation, content: dict[str, Any]
) -> dict[str, Any]:
    ann: dict[str, Any] = copy.deepcopy(a.extra.get("fields", {}))
    raw_by = a.extra.get("completed_by")
    # the user id or object Label Studio had, unless the annotator was changed since
    keep_raw = raw_by is not None and _annotator_name("", raw_by) == a.annotator
    ann["completed_by"] = raw_by if keep_raw else a.annotator
    if a.seconds is not None or a.extra.get("has_lead_time"):
        ann["lead_time"] = a.seconds
    result = _write_result(kind, labels, a.value, a.extra.get("region"), content)
    if result is not None:
        ann["result"] = result
    return ann


def _write_result(
    kind: str,
    labels: list[str],
    value: Any,
    region_info: dict[str, Any] | None,
    content: dict[str, Any],
) -> list[Any] | None:
    info = region_info or {}
    if value is None:
        if info.get("absent"):
            return None
        if "index" in info:  # the label was removed: drop its region, keep the others
            kept = copy.deepcopy(info["results"])
            del kept[info["index"]]
            return list(kept)
        return copy.deepcopy(info.get("results", []))
    encoded = _encode(kind, labels, value, info.get("text_list"))
    if "index" in info:
        results = copy.deepcopy(info["results"])
        results[info["index"]]["value"][_VALUE_KEY[kind]] = encoded
        return list(results)
    to_name = "text" if "text" in content else next(iter(content), "text")
    region = {
        "from_name": "label" if kind != "preference" else "comparison",
        "to_name": to_name,
        "type": _REGION_TYPE[kind],
        "value": {_VALUE_KEY[kind]: encoded},
    }
    return [*copy.deepcopy(info.get("results", [])), region]


def _encode(kind: str, labels: list[str], value: Any, text_list: list[str] | None) -> Any:
    if kind == "classification":
        return [value]
    if kind == "multilabel":
        return list(value)
    if kind == "rating":
        return value
    if kind == "correction":
        return text_list if text_list is not None and "\n".join(text_list) == value else [value]
    if value not in labels[:2]:
        raise LabelStudioError(f"preference value {value!r} is not one of {labels[:2]}")
    return _SIDES[labels.index(value)]


def _check_kind(kind: str, labels: list[str]) -> None:
    if kind not in KINDS:
        raise LabelStudioError(f"project kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "preference" and len(labels) != 2:
        raise LabelStudioError(
            f"a preference project needs exactly two labels (for left and right), got {labels}"
        )
