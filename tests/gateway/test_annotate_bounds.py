"""The annotator page's API refuses ids beyond what the database stores and corrections
beyond what a corrected answer may be: a 400 naming the field, never a 500, nothing
recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from modelmint.catalog import Catalog
from modelmint.labeling import Annotations, LabelingError, LabelProjects
from modelmint.labeling.annotations import MAX_CORRECTION_CHARS
from modelmint.store import Annotation, LabelItem, LabelProject, Store
from support.annotate import label_site


def _signed_in(store: Store, tmp_path: Path) -> tuple[TestClient, dict[str, str]]:
    site = label_site(store, tmp_path)
    _, token = site.services.annotators.create("li")
    c = TestClient(site.app)
    c.get("/label")
    r = c.post(
        "/label/session",
        json={"token": token},
        headers={"X-CSRF-Token": c.cookies["mint_label_csrf"]},
    )
    assert r.status_code == 200, r.text
    return c, {"X-CSRF-Token": c.cookies["mint_label_csrf"]}


def test_ids_beyond_the_columns_are_400(store: Store, tmp_path: Path) -> None:
    c, csrf = _signed_in(store, tmp_path)
    huge = 2**70
    for path, body, param in [
        (f"/label/api/projects/intents/items/{huge}/label", {"value": "refund"}, "item_id"),
        (f"/label/api/projects/intents/items/{huge}/skip", None, "item_id"),
        ("/label/api/projects/intents/next", {"skip": [huge]}, "skip.0"),
        ("/label/api/projects/intents/next", {"skip": [0]}, "skip.0"),
    ]:
        r = c.post(path, json=body, headers=csrf)
        assert r.status_code == 400, (path, r.text)
        assert param in (r.json()["error"]["param"] or ""), r.json()
    r = c.post(f"/label/api/projects/{'p' * 201}/next", json={}, headers=csrf)
    assert r.status_code == 400 and "project" in r.json()["error"]["param"]
    with store.session() as s:
        assert s.scalar(select(func.count(Annotation.id))) == 0


def _first_item(store: Store, project: str) -> int:
    with store.session() as s:
        item = s.scalars(
            select(LabelItem.id)
            .join(LabelProject, LabelProject.id == LabelItem.project_id)
            .where(LabelProject.name == project)
            .order_by(LabelItem.position)
        ).first()
    assert item is not None
    return item


def test_a_correction_is_bounded(store: Store, tmp_path: Path) -> None:
    catalog = Catalog(store, tmp_path / "artifacts")
    label_site(store, tmp_path)  # the tickets dataset
    LabelProjects(store, catalog).create("fix", "tickets", kind="correction")
    item, intents_item = _first_item(store, "fix"), _first_item(store, "intents")
    notes = Annotations(store)
    with pytest.raises(LabelingError, match=f"at most {MAX_CORRECTION_CHARS}"):
        notes.submit("fix", item, "li", "x" * (MAX_CORRECTION_CHARS + 1))
    with pytest.raises(LabelingError, match="NUL"):
        notes.submit("fix", item, "li", "a\x00b")
    assert notes.submit("fix", item, "li", "好" * MAX_CORRECTION_CHARS).value
    with pytest.raises(LabelingError) as e:  # a huge wrong value is not echoed whole
        notes.submit("intents", intents_item, "li", ["x" * 10_000] * 1000)
    assert len(str(e.value)) < 600  # not the 10 MB it was given
