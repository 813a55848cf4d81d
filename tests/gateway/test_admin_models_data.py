"""The console's models, data and training, and labeling routes under /admin/v1: what the
catalog holds as JSON (versions, lineage, evaluations, loss curves, datasets, runs with
live progress, label projects and feedback), alias promotion and rollback audited and
applied live, the live canary split changing where requests go, and a channel's admin
key seeing none of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from modelmint.gateway.admin.model_views import MAX_CURVE_POINTS, thin
from modelmint.store import AuditEntry, Store, UsageEvent
from modelmint.store.catalog_tables import ModelAlias
from support.console_models import REPORT_TEXT, RUN_LOSSES, ModelsWorld, models_world


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[tuple[ModelsWorld, TestClient]]:
    w = models_world(store, tmp_path)
    with TestClient(w.app) as client:  # the lifespan closes the engines
        client.headers["Authorization"] = f"Bearer {w.platform_key}"
        yield w, client


def ok(client: TestClient, method: str, path: str, **kw: Any) -> Any:
    r = client.request(method, path, **kw)
    assert r.status_code == 200, (method, path, r.status_code, r.text)
    return r.json()


def served_versions(w: ModelsWorld, client: TestClient, model: str, n: int) -> list[int]:
    """Sends ``n`` completions for ``model`` and returns the version ids that answered,
    as the usage ledger recorded them."""
    with w.store.session() as s:
        before = s.scalar(select(UsageEvent.id).order_by(UsageEvent.id.desc()).limit(1)) or 0
    for _ in range(n):
        r = client.post(
            "/v1/completions",
            json={"model": model, "prompt": "hello", "max_tokens": 1},
            headers={"Authorization": f"Bearer {w.api_key}"},
        )
        assert r.status_code == 200, r.text
    with w.store.session() as s:
        return list(
            s.scalars(
                select(UsageEvent.model_version_id)
                .where(UsageEvent.id > before)
                .order_by(UsageEvent.id)
            )
        )


def audit(w: ModelsWorld, action: str) -> list[AuditEntry]:
    with w.store.session() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return [r for r in rows]


def alias_version(w: ModelsWorld, alias: str = "production") -> int:
    with w.store.session() as s:
        row = s.scalars(
            select(ModelAlias).where(ModelAlias.name == "micro", ModelAlias.alias == alias)
        ).one()
        return w.v1.version if row.model_version_id == w.v1.id else w.v2.version


def test_models_list_and_detail(world: tuple[ModelsWorld, TestClient]) -> None:
    w, client = world
    listing = ok(client, "GET", "/admin/v1/models")
    (micro,) = listing["data"]
    v1, v2 = micro["versions"]
    assert (v1["label"], v1["run"]["id"], v1["dataset"]) == ("micro:1", w.train_run, "tickets:1")
    assert v1["aliases"] == ["production"] and v1["parent"] is None
    assert v1["serving"] == {"loaded": True, "names": ["micro@production"], "canary_for": []}
    assert [e["suite"] for e in v1["evaluations"]] == ["perplexity"]
    assert v1["evaluations"][0]["metrics"]["perplexity"] == 12.5
    assert v2["parent"] == "micro:1" and v2["size_bytes"] == 1234
    assert v2["run"]["kind"] == "compress:int8-dynamic" and v2["serving"]["names"] == ["micro:2"]
    assert listing["serving"]["loaded"] == ["micro:1", "micro:2"]
    assert {n["name"]: n["model"] for n in listing["serving"]["names"]} == {
        "micro@production": "micro:1",
        "micro:2": "micro:2",
    }

    detail = ok(client, "GET", "/admin/v1/models/micro")
    (root,) = detail["lineage"]
    assert (root["model"], root["dataset"], root["run"]["id"]) == (
        "micro:1",
        "tickets:1",
        w.train_run,
    )
    assert [c["model"] for c in root["children"]] == ["micro:2"]
    (curve,) = [c for c in detail["loss_curves"] if c["run_id"] == w.train_run]
    assert [p["value"] for p in curve["series"]["loss"]] == RUN_LOSSES
    assert [p["step"] for p in curve["series"]["eval_loss"]] == [4]
    (evaluation,) = detail["evaluations"]
    assert set(evaluation["files"]) == {"report.html", "details.json"}
    report = client.get(evaluation["files"]["report.html"])
    assert report.status_code == 200 and "perplexity of micro:1" in report.text
    assert report.headers["content-type"].startswith("text/html")
    assert "sandbox" in report.headers["content-security-policy"]
    assert detail["aliases"] == [
        {
            "alias": "production",
            "version": 1,
            "updated_at": detail["aliases"][0]["updated_at"],
            "rollback_to": None,
        }
    ]
    base = f"/admin/v1/models/micro/evaluations/{w.evaluation_id}"
    assert client.get(f"{base}/examples.jsonl").status_code == 404  # not written
    assert client.get(f"{base}/secrets.txt").status_code == 404
    assert (
        client.get(f"/admin/v1/models/other/evaluations/{w.evaluation_id}/report.html").status_code
        == 404
    )
    missing = client.get("/admin/v1/models/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_alias_promote_then_rollback_is_audited_and_live(
    world: tuple[ModelsWorld, TestClient],
) -> None:
    w, client = world
    assert set(served_versions(w, client, "micro@production", 2)) == {w.v1.id}

    promoted = ok(client, "POST", "/admin/v1/models/micro/aliases/production", json={"version": 2})
    assert (promoted["previous"], promoted["version"], promoted["changed"]) == (1, 2, True)
    assert promoted["live"] is True, promoted["note"]
    assert alias_version(w) == 2
    assert set(served_versions(w, client, "micro@production", 2)) == {w.v2.id}
    detail = ok(client, "GET", "/admin/v1/models/micro")
    assert detail["aliases"][0]["rollback_to"] == 1
    assert detail["versions"][1]["serving"]["names"] == ["micro@production", "micro:2"]

    back = ok(client, "POST", "/admin/v1/models/micro/aliases/production/rollback")
    assert (back["previous"], back["version"], back["live"]) == (2, 1, True)
    assert alias_version(w) == 1
    assert set(served_versions(w, client, "micro@production", 2)) == {w.v1.id}

    setup, promote = audit(w, "model_alias.promote")  # the world's first promotion, then ours
    (rollback,) = audit(w, "model_alias.rollback")
    assert (setup.actor, setup.before, setup.after["version"]) == ("test:setup", None, 1)
    assert promote.target == rollback.target == "model_alias:micro@production"
    assert (promote.before["version"], promote.after["version"]) == (1, 2)
    assert (rollback.before["version"], rollback.after["version"]) == (2, 1)
    assert promote.actor.startswith("admin:")
    history = ok(client, "GET", "/admin/v1/models/micro")["alias_history"]
    assert [(e["action"], e["from_version"], e["to_version"]) for e in history] == [
        ("rollback", 2, 1),
        ("promote", 1, 2),
        ("promote", None, 1),
    ]
    # the promotion is undone: nothing earlier to go back to
    again = client.post("/admin/v1/models/micro/aliases/production/rollback")
    assert again.status_code == 409 and again.json()["error"]["code"] == "nothing_to_roll_back"
    # the same version again changes nothing and writes no audit entry
    same = ok(client, "POST", "/admin/v1/models/micro/aliases/production", json={"version": 1})
    assert same["changed"] is False and len(audit(w, "model_alias.promote")) == 2
    # an alias this server does not serve moves in the catalog, for the next start
    staging = ok(client, "POST", "/admin/v1/models/micro/aliases/staging", json={"version": 2})
    assert staging["live"] is False and "next start" in staging["note"]
    assert staging["previous"] is None and alias_version(w, "staging") == 2
    assert (
        client.post("/admin/v1/models/micro/aliases/production", json={"version": 9}).status_code
        == 404
    )


def test_live_canary_changes_routing_and_refuses_unloaded_versions(
    world: tuple[ModelsWorld, TestClient],
) -> None:
    w, client = world
    body = {"name": "micro@production", "candidate": "micro:2", "percent": 100}
    split = ok(client, "PUT", "/admin/v1/canary", json=body)
    assert split == {
        "name": "micro@production",
        "model": "micro:1",
        "candidate": "micro:2",
        "percent": 100.0,
    }
    assert set(served_versions(w, client, "micro@production", 4)) == {w.v2.id}
    assert ok(client, "GET", "/admin/v1/canary")["data"] == [split]
    listing = ok(client, "GET", "/admin/v1/models")
    assert listing["data"][0]["versions"][1]["serving"]["canary_for"] == ["micro@production"]

    ended = ok(client, "DELETE", "/admin/v1/canary/micro@production")
    assert ended == split
    assert set(served_versions(w, client, "micro@production", 4)) == {w.v1.id}
    assert ok(client, "GET", "/admin/v1/canary")["data"] == []
    assert client.delete("/admin/v1/canary/micro@production").status_code == 404
    (set_entry,) = audit(w, "canary.set")
    (delete_entry,) = audit(w, "canary.delete")
    assert set_entry.after["candidate"] == "micro:2" and delete_entry.before["percent"] == 100

    # a version in the catalog that this server has not loaded
    w.catalog.add_model_version(
        "micro", w.catalog.staging_dir("m"), run_id=None, kind="causal-lm", num_parameters=1,
        metrics={},
    )  # fmt: skip
    refused = client.put("/admin/v1/canary", json={**body, "candidate": "micro:3"})
    assert refused.status_code == 409
    assert "mint serve" in refused.json()["error"]["message"]
    assert refused.json()["error"]["code"] == "model_not_loaded"
    not_served = client.put("/admin/v1/canary", json={**body, "name": "other"})
    assert not_served.status_code == 409
    assert client.put("/admin/v1/canary", json={**body, "candidate": "nope:1"}).status_code == 404
    assert client.put("/admin/v1/canary", json={**body, "percent": 0}).status_code == 400
    assert w.context.canaries == [] and len(audit(w, "canary.set")) == 1


def test_datasets_and_their_reports(world: tuple[ModelsWorld, TestClient]) -> None:
    _, client = world
    (tickets,) = ok(client, "GET", "/admin/v1/datasets")["data"]
    (v1,) = tickets["versions"]
    assert (v1["label"], v1["num_records"], v1["splits"]) == (
        "tickets:1",
        8,
        {"train": 6, "test": 2},
    )
    assert v1["source"] == "tests"
    html = client.get(v1["report_html"])
    assert html.status_code == 200 and REPORT_TEXT in html.text
    assert html.headers["content-type"].startswith("text/html")
    assert client.get(v1["report_json"]).json() == {"kept": 6}
    assert client.get("/admin/v1/datasets/tickets/2/report").status_code == 404


def test_runs_with_live_progress(world: tuple[ModelsWorld, TestClient]) -> None:
    w, client = world
    runs = {r["id"]: r for r in ok(client, "GET", "/admin/v1/runs")["data"]}
    assert runs[w.train_run]["model"] == "micro:1" and runs[w.train_run]["step"] == 4
    assert runs[w.compress_run]["model"] == "micro:2"
    assert runs[w.live_run]["status"] == "running" and runs[w.live_run]["loss"] == 2.5
    running = ok(client, "GET", "/admin/v1/runs?status=running")["data"]
    assert [r["id"] for r in running] == [w.live_run]

    live = ok(client, "GET", f"/admin/v1/runs/{w.live_run}")
    assert (live["step"], live["max_steps"]) == (4, 10)
    assert live["steps_per_s"] == pytest.approx(1.0)  # one step a second
    assert live["tokens_per_s"] == pytest.approx(32.0)  # batch 2 x block 16
    assert live["eta_s"] == pytest.approx(6.0)
    assert live["config"]["recipe"]["recipe"] == "pretrain-clm"
    assert [p["step"] for p in live["points"]["loss"]] == [1, 2, 3, 4]

    since = ok(client, "GET", f"/admin/v1/runs/{w.live_run}?after_step=2")
    assert [p["step"] for p in since["points"]["loss"]] == [3, 4]
    w.catalog.log_metrics(w.live_run, 5, {"loss": 2.4})
    newer = ok(client, "GET", f"/admin/v1/runs/{w.live_run}?after_step=4")
    assert newer["points"] == {"loss": [{"step": 5, "value": 2.4}]} and newer["step"] == 5

    done = ok(client, "GET", f"/admin/v1/runs/{w.train_run}")
    assert done["eta_s"] is None and done["metrics"] == {"train_loss": 2.7}
    assert client.get("/admin/v1/runs/999").status_code == 404


def test_labeling_overview(world: tuple[ModelsWorld, TestClient]) -> None:
    _, client = world
    overview = ok(client, "GET", "/admin/v1/labeling")
    assert overview["label_page"] == "/label"
    (project,) = overview["projects"]
    assert (project["name"], project["items"], project["finished"]) == ("intents", 6, 2)
    assert project["per_annotator"] == {"li": 2}
    assert project["suggestions"]["accepted"] == 1 and project["suggestions"]["accuracy"] == 1.0
    assert project["to_review"] == 0
    assert overview["feedback"]["counts"] == {"new": 2, "accepted": 1, "rejected": 0}
    assert overview["feedback"]["by_model"] == [
        {"model": "micro:1", "counts": {"new": 2, "accepted": 1, "rejected": 0}}
    ]


def test_a_channel_admin_key_gets_404_everywhere(world: tuple[ModelsWorld, TestClient]) -> None:
    w, client = world
    channel = {"Authorization": f"Bearer {w.channel_key}"}
    canary = {"name": "micro@production", "candidate": "micro:2", "percent": 50}
    ok(client, "PUT", "/admin/v1/canary", json=canary)  # so the DELETE has something to find
    evaluation = f"/admin/v1/models/micro/evaluations/{w.evaluation_id}/report.html"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/admin/v1/models", None),
        ("GET", "/admin/v1/models/micro", None),
        ("GET", evaluation, None),
        ("POST", "/admin/v1/models/micro/aliases/production", {"version": 2}),
        ("POST", "/admin/v1/models/micro/aliases/production/rollback", None),
        ("GET", "/admin/v1/canary", None),
        ("PUT", "/admin/v1/canary", canary),
        ("DELETE", "/admin/v1/canary/micro@production", None),
        ("GET", "/admin/v1/datasets", None),
        ("GET", "/admin/v1/datasets/tickets/1/report", None),
        ("GET", "/admin/v1/datasets/tickets/1/report.json", None),
        ("GET", "/admin/v1/runs", None),
        ("GET", f"/admin/v1/runs/{w.live_run}", None),
        ("GET", "/admin/v1/labeling", None),
    ]
    for method, path, body in calls:
        r = client.request(method, path, json=body, headers=channel)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "not_found"
        # and no admin key at all is a 401
        anonymous = client.request(method, path, json=body, headers={"Authorization": ""})
        assert anonymous.status_code == 401, (method, path)
    assert alias_version(w) == 1 and len(w.context.canaries) == 1


def test_long_curves_are_thinned_keeping_the_last_point() -> None:
    points = [(step, float(step)) for step in range(1, 1235)]
    thinned = thin(points)
    assert len(thinned) <= MAX_CURVE_POINTS + 1
    assert thinned[0].step == 1 and thinned[-1].step == 1234
    steps = [p.step for p in thinned]
    assert steps == sorted(set(steps))
    assert [p.step for p in thin(points[:10])] == list(range(1, 11))
