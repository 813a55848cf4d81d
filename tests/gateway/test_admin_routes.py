"""The admin API's behaviour beyond isolation: authentication, what each route returns,
bad input answered with a 400 naming the field, and keys made here working on /v1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from modelmint.catalog import Catalog
from modelmint.config import get_settings
from modelmint.gateway import ServedModel
from modelmint.serving import Engine
from modelmint.store import Store
from modelmint.store.catalog_tables import ModelVersion
from support.admin import PERIOD, AdminWorld, admin_app, bearer, build_world, platform_key


@pytest.fixture
def world(store: Store, tmp_path: Path) -> AdminWorld:
    return build_world(store, tmp_path / "artifacts")


def test_a_missing_wrong_or_api_key_is_401(world: AdminWorld) -> None:
    c = world.client
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        bearer("mma-000000000000-wrong"),
        bearer(world.north.api_key),  # an API key is not an admin key
    ):
        r = c.get("/admin/v1/tenants", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"]["code"] == "invalid_api_key"
        assert r.json()["error"]["type"] == "invalid_request_error"
    # and an admin key is not an API key
    assert c.get("/v1/models", headers=world.platform).status_code == 401


def test_bad_input_is_a_400_that_names_the_field(world: AdminWorld) -> None:
    p = world.platform
    cases = [
        ("POST", "/admin/v1/tenants", {"name": "bad name!"}, "name"),
        ("POST", "/admin/v1/tenants", {"name": "ok", "billing": "weekly"}, "billing"),
        (
            "PUT",
            "/admin/v1/budgets",
            {"tenant": world.north.tenant, "amount_micros": 10**30},
            "amount_micros",
        ),
        (
            "POST",
            f"/admin/v1/tenants/{world.north.tenant}/wallet/topups",
            {"amount_micros": 0},
            "amount_micros",
        ),
        (
            "POST",
            "/admin/v1/keys",
            {"tenant": world.north.tenant, "expires_at": "2030-01-01T00:00:00"},
            "expires_at",
        ),
        ("POST", "/admin/v1/keys", {"tenant": world.north.tenant, "name": "a\x00b"}, "name"),
        (
            "POST",
            "/admin/v1/credit-notes",
            {"period": "2025-13", "amount_micros": 1, "reason": "r", "tenant": world.north.tenant},
            None,
        ),
    ]
    for method, path, body, param in cases:
        r = world.client.request(method, path, headers=p, json=body)
        assert r.status_code == 400, (path, body, r.text)
        err = r.json()["error"]
        assert err["message"]
        if param:
            assert err["param"] == param, (path, err)
    # a business rule: a postpaid tenant has no wallet; the message says what to do
    world.ok("POST", "/admin/v1/tenants", p, json={"name": "post"})
    r = world.client.post(
        "/admin/v1/tenants/post/wallet/topups", headers=p, json={"amount_micros": 5}
    )
    assert r.status_code == 400 and "prepaid" in r.json()["error"]["message"]


def test_tenant_update_changes_only_what_is_given(world: AdminWorld) -> None:
    h, name = world.north.headers, world.north.tenant
    t = world.ok("PATCH", f"/admin/v1/tenants/{name}", h, json={"rpm_limit": 5, "tpm_limit": 50})
    assert (t["rpm_limit"], t["tpm_limit"], t["plan"]) == (5, 50, world.north.book)
    t = world.ok("PATCH", f"/admin/v1/tenants/{name}", h, json={"rpm_limit": None})
    assert (t["rpm_limit"], t["tpm_limit"], t["plan"]) == (None, 50, world.north.book)
    t = world.ok("PATCH", f"/admin/v1/tenants/{name}", h, json={"plan": None})
    assert (t["plan"], t["effective_plan"]) == (None, "standard")
    r = world.client.patch(f"/admin/v1/tenants/{name}", headers=h, json={})
    assert r.status_code == 400 and "nothing to change" in r.json()["error"]["message"]
    entry = world.ok("GET", "/admin/v1/audit?action=tenant.update&limit=1", h)["data"][0]
    assert entry["before"]["price_book_id"] is not None and entry["after"]["price_book_id"] is None


def test_keys_are_shown_once_and_listed_by_prefix(world: AdminWorld) -> None:
    h = world.north.headers
    made = world.ok(
        "POST",
        "/admin/v1/keys",
        h,
        json={"tenant": world.north.tenant, "allowed_models": ["m", "m:1"], "rpm_limit": 3},
    )
    assert made["key"].startswith(f"mm-{made['prefix']}-")
    listed = world.ok("GET", f"/admin/v1/keys?tenant={world.north.tenant}", h)["data"]
    assert made["prefix"] in {k["prefix"] for k in listed}
    assert made["key"] not in str(listed)
    audit = world.ok("GET", "/admin/v1/audit?limit=1000", world.platform)
    secret = made["key"].removeprefix(f"mm-{made['prefix']}-")  # url-safe, so it may hold "-"
    assert len(secret) > 20 and secret not in str(audit)  # the secret is never written
    rotated = world.ok(
        "POST", f"/admin/v1/keys/{made['prefix']}/rotate", h, json={"grace_seconds": 0}
    )
    new = world.ok("GET", f"/admin/v1/keys/{rotated['prefix']}", h)
    assert new["rotated_from"] == made["prefix"]
    assert new["allowed_models"] == ["m", "m:1"] and new["rpm_limit"] == 3
    assert world.ok("GET", f"/admin/v1/keys/{made['prefix']}", h)["status"] == "expired"


def test_wallet_budget_usage_invoice_and_credit_notes(world: AdminWorld) -> None:
    h, tenant = world.north.headers, world.north.tenant
    world.ok("POST", f"/admin/v1/tenants/{tenant}/wallet/credits", h, json={"amount_micros": 1000})
    wallet = world.ok("GET", f"/admin/v1/tenants/{tenant}/wallet", h)
    # the request (200 micro-units) ran before the credit was given: paid money covered it
    assert (wallet["paid_micros"], wallet["credit_micros"]) == (9_999_800, 1000)
    assert wallet["balance_micros"] == 10_000_800
    assert [e["kind"] for e in wallet["entries"]] == ["topup", "credit"]

    budgets = world.ok("GET", f"/admin/v1/budgets?tenant={tenant}", h)["data"]
    assert {(b["period"], b["amount_micros"], b["hard"]) for b in budgets} == {
        ("month", 5_000_000, True),
        ("total", 100, False),
    }
    alerts = world.ok("GET", "/admin/v1/budget-alerts", h)["data"]
    assert sorted(a["percent"] for a in alerts) == [80, 100]
    r = world.client.delete(f"/admin/v1/budgets/{world.north.budget_id}", headers=h)
    assert r.status_code == 204
    assert (
        world.client.delete(f"/admin/v1/budgets/{world.north.budget_id}", headers=h).status_code
        == 404
    )

    usage = world.ok("GET", f"/admin/v1/usage?period={PERIOD}", h)["data"]
    assert [
        (u["tenant"], u["requests"], u["retail_micros"], u["wholesale_micros"]) for u in usage
    ] == [(tenant, 1, 200, 120)]
    assert usage[0]["by_model"][0]["model"] == "m:1"
    assert world.ok("GET", "/admin/v1/usage?period=2025-02", h)["data"] == []

    invoice = world.ok("GET", f"/admin/v1/invoices/{world.north.invoice}", h)
    assert (invoice["subtotal_micros"], invoice["credits_micros"], invoice["total_micros"]) == (
        200,
        100,
        100,
    )
    wholesale = world.ok("GET", f"/admin/v1/invoices/{world.north.wholesale_invoice}", h)
    assert (
        wholesale["kind"] == "wholesale"
        and wholesale["tenants"][0]["margin_micros"] == 200 - 100 - 120
    )
    csv = world.client.get(f"/admin/v1/invoices/{world.north.invoice}/csv", headers=h)
    assert csv.headers["content-type"].startswith("text/csv")
    listed = world.ok("GET", f"/admin/v1/invoices?period={PERIOD}", h)["data"]
    assert {i["number"] for i in listed} == {world.north.invoice, world.north.wholesale_invoice}
    html = world.client.get(f"/admin/v1/invoices/{world.north.invoice}/html", headers=h)
    assert html.headers["content-type"].startswith("text/html") and world.north.invoice in html.text

    notes = world.ok("GET", f"/admin/v1/credit-notes?period={PERIOD}", h)["data"]
    assert [(n["tenant"], n["amount_micros"], n["actor"]) for n in notes] == [
        (tenant, 100, world.north.actor)
    ]


def test_invoice_downloads_are_the_generated_files(world: AdminWorld, tmp_path: Path) -> None:
    h = world.north.headers
    folder = tmp_path / "artifacts" / "invoices" / PERIOD
    for suffix in ("csv", "html"):
        r = world.client.get(f"/admin/v1/invoices/{world.north.invoice}/{suffix}", headers=h)
        assert r.content == (folder / f"{world.north.invoice}.{suffix}").read_bytes()
    again = world.ok("POST", "/admin/v1/invoices/generate", world.platform, json={"period": PERIOD})
    assert {i["number"]: i["content_hash"] for i in again["data"]}[world.north.invoice] == (
        world.ok("GET", f"/admin/v1/invoices/{world.north.invoice}", h)["content_hash"]
    )


def test_economics_uses_the_measured_throughput(world: AdminWorld) -> None:
    with world.store.session() as s:
        mv = s.scalars(select(ModelVersion).where(ModelVersion.name == "m")).one()
        mv.metrics = {"serving_tokens_per_s": 1000.0}
    # 3.60 USD an hour at 1000 tokens/s: 1 micro-unit per output token
    report = world.ok(
        "GET",
        f"/admin/v1/economics?hardware_cost_per_hour_micros=3600000&period={PERIOD}",
        world.platform,
    )
    (model,) = report["models"]
    assert model["cost_per_mtok_micros"] == 1_000_000
    assert model["compute_cost_micros"] == 100  # two requests of 50 output tokens
    assert report["revenue_micros"] == 240  # both tenants are a channel's: wholesale 2 x 120
    assert {c["channel"] for c in report["channels"]} == {"north", "south"}
    assert report["unmeasured"] == []
    if get_settings().hardware_cost_per_hour is None:  # nothing configured: say what to give
        r = world.client.get("/admin/v1/economics", headers=world.platform)
        assert r.status_code == 400 and "MINT_HARDWARE_COST_PER_HOUR" in r.text


@pytest.fixture
def served(store: Store, tmp_path: Path, micro_model_dir: Path) -> Iterator[tuple[TestClient, str]]:
    catalog = Catalog(store, tmp_path / "artifacts")
    ref = catalog.add_model_version(
        "micro",
        catalog.staging_dir("model"),
        run_id=None,
        kind="causal-lm",
        num_parameters=1,
        metrics={},
    )
    model = ServedModel(
        id="micro", label=ref.label, model_version_id=ref.id, engine=Engine.load(micro_model_dir)
    )
    app = admin_app(store, tmp_path / "artifacts", {"micro": model})
    with TestClient(app) as client:
        yield client, platform_key(store)


def test_keys_made_here_work_on_v1_until_revoked_or_suspended(
    served: tuple[TestClient, str],
) -> None:
    client, admin = served
    h = bearer(admin)

    def post(path: str, body: dict | None = None) -> dict:
        r = client.post(path, headers=h, json=body)
        assert r.status_code < 300, r.text
        return r.json()

    post("/admin/v1/tenants", {"name": "acme"})
    key = post("/admin/v1/keys", {"tenant": "acme"})

    def complete(api_key: str) -> int:
        body = {"model": "micro", "prompt": "hello", "max_tokens": 2}
        return client.post("/v1/completions", headers=bearer(api_key), json=body).status_code

    assert complete(key["key"]) == 200
    rotated = post(f"/admin/v1/keys/{key['prefix']}/rotate", {"grace_seconds": 3600})
    assert complete(key["key"]) == 200 and complete(rotated["key"]) == 200  # grace period
    post(f"/admin/v1/keys/{key['prefix']}/revoke")
    assert complete(key["key"]) == 401 and complete(rotated["key"]) == 200
    post("/admin/v1/tenants/acme/suspend")
    assert complete(rotated["key"]) == 401
    post("/admin/v1/tenants/acme/resume")
    assert complete(rotated["key"]) == 200
    usage = client.get("/admin/v1/usage?tenant=acme", headers=h).json()["data"][0]
    assert usage["requests"] == 5


def test_every_admin_route_is_documented(world: AdminWorld) -> None:
    spec = world.client.get("/openapi.json").json()
    admin = {p: ops for p, ops in spec["paths"].items() if p.startswith("/admin/v1/")}
    assert len(admin) >= 25
    for path, ops in admin.items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("tags"), where
            assert {"401", "404"} <= set(op["responses"]), where
            assert op.get("security") == [{"AdminKey": []}], where
            ok = next(r for s, r in op["responses"].items() if s.startswith("2"))
            if method != "delete":
                assert ok.get("content"), where  # a typed body (or CSV / HTML)
    schemas = spec["components"]["schemas"]
    money = [
        (name, field)
        for name, s in schemas.items()
        for field in s.get("properties", {})
        if "amount" in field or "price" in field or "revenue" in field or "cost" in field
    ]
    assert money and all(
        f.endswith("_micros") or "_micros_" in f or f in {"tokens_per_s"} for _, f in money
    ), [m for m in money if not (m[1].endswith("_micros") or "_micros_" in m[1])]
