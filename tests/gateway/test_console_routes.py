"""The console's routes: sign-in with a platform or a channel admin key into a session
cookie that /admin/v1 accepts (CSRF-checked on every change, the key looked up on every
request), sign-out, the Bearer key working as before; the overview's usage series and
serving metrics, checked against the usage events and observations made here."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from modelmint.store import Store, UsageEvent
from modelmint.store.catalog_tables import ModelVersion
from support.admin import USED_AT, AdminWorld, _billed_request, build_world

SESSION, CSRF = "mint_console_session", "mint_console_csrf"
SERIES = "/admin/v1/usage/series?since=2025-01-15T11:00:00Z&until=2025-01-15T15:00:00Z"


@pytest.fixture
def world(store: Store, tmp_path: Path) -> AdminWorld:
    return build_world(store, tmp_path / "artifacts")


def browser(world: AdminWorld) -> TestClient:
    """A fresh client with no session: it keeps cookies, as a browser does."""
    return TestClient(world.client.app)


def sign_in(client: TestClient, key: str) -> dict:
    page = client.get("/console")
    assert page.status_code == 200
    r = client.post(
        "/console/session", json={"key": key}, headers={"X-CSRF-Token": client.cookies[CSRF]}
    )
    assert r.status_code == 200, r.text
    return r.json()


def csrf(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies[CSRF]}


def test_the_page_has_its_security_headers_and_language(world: AdminWorld) -> None:
    c = browser(world)
    r = c.get("/console", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp  # no external origin
    assert r.headers["x-frame-options"] == "DENY"
    assert '<html lang="zh"' in r.text and 'data-signed-in="false"' in r.text
    assert c.cookies[CSRF]  # the sign-in form's token
    assert '<html lang="en"' in c.get("/console", headers={"Accept-Language": "en"}).text
    c.cookies.set("mint_console_lang", "zh")  # the page's toggle wins over the browser
    assert '<html lang="zh"' in c.get("/console", headers={"Accept-Language": "en"}).text
    for asset in ("console.js", "console.css", "chart.js", "i18n.json", "pages/overview.js"):
        assert c.get(f"/console/static/{asset}").status_code == 200, asset


def test_sign_in_with_the_platform_key_sets_a_strict_httponly_cookie(world: AdminWorld) -> None:
    c = browser(world)
    c.get("/console")
    key = world.platform["Authorization"].removeprefix("Bearer ")
    # signing in needs the form's CSRF token (no login CSRF)
    assert c.post("/console/session", json={"key": key}).status_code == 403
    r = c.post("/console/session", json={"key": key}, headers=csrf(c))
    assert r.status_code == 200
    assert r.json() == {
        "scope": {"kind": "platform", "channel": None},
        "actor": f"admin:{world.platform_prefix}",
        "key_prefix": world.platform_prefix,
        "language": "en",
    }
    cookies = {h.split("=", 1)[0]: h.lower() for h in r.headers.get_list("set-cookie")}
    session = cookies[SESSION]
    assert "httponly" in session and "samesite=strict" in session and "path=/;" in session
    assert "httponly" not in cookies[CSRF]  # the page reads this one
    secret = key.split("-", 2)[2]
    assert secret not in c.cookies[SESSION]  # the session names the key by prefix only
    assert c.get("/console/api/me").json()["scope"]["kind"] == "platform"
    assert 'data-signed-in="true"' in c.get("/console").text
    # the admin API answers the cookie: every tenant for the platform
    tenants = c.get("/admin/v1/tenants").json()["data"]
    assert {t["name"] for t in tenants} == {"north-acme", "south-acme"}


def test_wrong_keys_are_refused(world: AdminWorld) -> None:
    c = browser(world)
    c.get("/console")
    for key in ("mma-000000000000-wrong", world.north.api_key, "nonsense"):
        r = c.post("/console/session", json={"key": key}, headers=csrf(c))
        assert r.status_code == 401, key
        assert r.json()["error"]["code"] == "invalid_api_key"
    assert SESSION not in c.cookies
    assert c.get("/console/api/me").status_code == 401


def test_a_channel_key_sees_only_its_own(world: AdminWorld) -> None:
    c = browser(world)
    me = sign_in(c, world.north.admin_key)
    assert me["scope"] == {"kind": "channel", "channel": "north"}
    assert me["actor"] == world.north.actor
    assert [t["name"] for t in c.get("/admin/v1/tenants").json()["data"]] == ["north-acme"]
    r = c.get("/admin/v1/tenants/south-acme")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert c.get("/admin/v1/keys?tenant=south-acme").status_code == 404
    assert c.get("/admin/v1/tenants/south-acme/wallet").status_code == 404
    assert c.get(f"/admin/v1/invoices/{world.south.invoice}").status_code == 404


def test_changes_through_the_cookie_need_the_csrf_token(world: AdminWorld) -> None:
    c = browser(world)
    sign_in(c, world.north.admin_key)
    body = {"tenant": "north-acme", "name": "console"}
    missing = c.post("/admin/v1/keys", json=body)
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_token_missing"
    assert missing.json()["error"]["type"] == "permission_error"
    wrong = c.post("/admin/v1/keys", json=body, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "csrf_token_mismatch"
    # the sign-in form's token is not the session's (a new one was issued at sign-in)
    made = c.post("/admin/v1/keys", json=body, headers=csrf(c))
    assert made.status_code == 201 and made.json()["key"].startswith("mm-")
    revoke = c.post(f"/admin/v1/keys/{made.json()['prefix']}/revoke")
    assert revoke.status_code == 403
    assert (
        c.post(f"/admin/v1/keys/{made.json()['prefix']}/revoke", headers=csrf(c)).json()["status"]
        == "revoked"
    )
    # the audit log names the channel's admin key, as with Bearer
    audit = world.ok("GET", "/admin/v1/audit?limit=5", world.platform)["data"]
    assert audit[0]["actor"] == world.north.actor


def test_bearer_works_as_before_without_csrf(world: AdminWorld) -> None:
    fresh = browser(world)
    body = {"tenant": "north-acme", "name": "ci"}
    r = fresh.post("/admin/v1/keys", json=body, headers=world.north.headers)
    assert r.status_code == 201
    # with a console cookie present too, the Bearer key decides (and needs no token)
    c = browser(world)
    sign_in(c, world.north.admin_key)
    r = c.post("/admin/v1/keys", json={"tenant": "south-acme"}, headers=world.south.headers)
    assert r.status_code == 201 and r.json()["tenant"] == "south-acme"
    assert len(c.get("/admin/v1/tenants", headers=world.platform).json()["data"]) == 2
    assert fresh.get("/admin/v1/tenants").status_code == 401  # neither: refused as before


def test_revoking_the_admin_key_ends_the_session(world: AdminWorld) -> None:
    c = browser(world)
    sign_in(c, world.north.admin_key)
    assert c.get("/admin/v1/tenants").status_code == 200
    world.ok("POST", f"/admin/v1/admin-keys/{world.north.admin_prefix}/revoke", world.platform)
    r = c.get("/admin/v1/tenants")
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_ended"
    assert c.get("/console/api/me").status_code == 401
    assert 'data-signed-in="false"' in c.get("/console").text
    # signing out still clears the cookies
    out = c.post("/console/session/logout", headers=csrf(c))
    assert out.status_code == 204
    assert SESSION not in c.cookies


def test_sign_out(world: AdminWorld) -> None:
    c = browser(world)
    sign_in(c, world.south.admin_key)
    assert c.post("/console/session/logout").status_code == 403  # no token: not signed out
    assert c.get("/console/api/me").status_code == 200
    assert c.post("/console/session/logout", headers=csrf(c)).status_code == 204
    assert SESSION not in c.cookies
    assert c.get("/console/api/me").status_code == 401
    assert c.get("/admin/v1/tenants").status_code == 401


def _expected(store: Store, channel_id: int | None = None) -> dict[str, int]:
    """Sums over the usage events themselves: what the series must show."""
    with store.session() as s:
        events = s.scalars(select(UsageEvent)).all()
    if channel_id is not None:
        events = [e for e in events if e.channel_id == channel_id]
    platform = channel_id is None
    return {
        "requests": len(events),
        "prompt_tokens": sum(e.prompt_tokens for e in events),
        "completion_tokens": sum(e.completion_tokens for e in events),
        "revenue_micros": sum(
            (e.retail_micros if e.channel_id is None else e.wholesale_micros)
            if platform
            else e.retail_micros
            for e in events
        ),
        "wholesale_micros": sum(e.wholesale_micros for e in events),
    }


def test_usage_series_matches_the_ledger(world: AdminWorld) -> None:
    # a direct tenant of the platform, billed at 12:00 too: its retail is platform revenue
    world.ok("POST", "/admin/v1/tenants", world.platform, json={"name": "solo"})
    key = world.ok("POST", "/admin/v1/keys", world.platform, json={"tenant": "solo"})
    with world.store.session() as s:
        mv = s.scalars(select(ModelVersion)).one()
        mv.metrics = {"serving_tokens_per_s": 50.0}  # 1.8 a hour: 10 micro-units a token
        mv_id = mv.id
    _billed_request(world.store, key["prefix"], mv_id)
    want = _expected(world.store)
    assert want["requests"] == 3

    r = world.ok(
        "GET", f"{SERIES}&group=channel&hardware_cost_per_hour_micros=1800000", world.platform
    )
    assert r["buckets"][0] == "2025-01-15T11:00:00Z" and len(r["buckets"]) == 4
    assert (r["perspective"], r["expense_basis"]) == ("platform", "compute")
    noon = r["totals"][1]
    assert r["buckets"][1] == USED_AT.isoformat().replace("+00:00", "Z")
    for k in ("requests", "prompt_tokens", "completion_tokens", "revenue_micros"):
        assert noon[k] == want[k] == r["total"][k], k
    assert noon["revenue_micros"] == 120 + 120 + 200  # two channels' wholesale, solo's retail
    assert noon["cost_micros"] == 10 * want["completion_tokens"]
    assert noon["margin_micros"] == noon["revenue_micros"] - noon["cost_micros"]
    assert [p["requests"] for p in r["totals"]] == [0, 3, 0, 0]
    assert {g["name"]: g["total"]["revenue_micros"] for g in r["groups"]} == {
        "direct": 200,
        "north": 120,
        "south": 120,
    }
    # without an hourly cost (none configured) the cost is unknown, not zero
    r = world.ok("GET", f"{SERIES}&group=model", world.platform)
    assert r["expense_basis"] == "unknown" and r["total"]["cost_micros"] is None
    assert [g["name"] for g in r["groups"]] == ["m:1"]

    # a channel, through its console session: its tenants' retail, its wholesale as cost
    c = browser(world)
    sign_in(c, world.north.admin_key)
    north_id = world.ok("GET", "/admin/v1/channels/north", world.platform)["id"]
    mine = _expected(world.store, north_id)
    r = c.get(f"{SERIES}&group=tenant&hardware_cost_per_hour_micros=1800000").json()
    assert (r["perspective"], r["expense_basis"]) == ("channel", "wholesale")
    assert [g["name"] for g in r["groups"]] == ["north-acme"]
    assert r["total"]["requests"] == mine["requests"] == 1
    assert r["total"]["revenue_micros"] == mine["revenue_micros"] == 200
    assert r["total"]["cost_micros"] == mine["wholesale_micros"] == 120
    assert r["total"]["margin_micros"] == 80
    assert r["unmeasured"] == []
    by_channel = c.get(f"{SERIES}&group=channel").json()
    assert [g["name"] for g in by_channel["groups"]] == ["north"]


def test_usage_series_bad_input_is_a_400(world: AdminWorld) -> None:
    h = world.platform
    for query in (
        "since=2025-01-15T12:00:00Z&until=2025-01-15T11:00:00Z",
        "since=2020-01-01T00:00:00Z&until=2025-01-15T11:00:00Z",
        "bucket=week",
        "group=key",
        "since=2025-01-15T12:00:00",  # no time zone
        "until=0001-01-01T00:00:00Z",
    ):
        r = world.client.get(f"/admin/v1/usage/series?{query}", headers=h)
        assert r.status_code == 400, (query, r.text)
    # the default range: the last 24 hours, hourly
    r = world.ok("GET", "/admin/v1/usage/series", h)
    assert len(r["buckets"]) in (24, 25) and r["bucket"] == "hour"
    assert world.ok("GET", "/admin/v1/usage/series?bucket=day", h)["bucket"] == "day"


def test_serving_metrics_for_the_platform_only(world: AdminWorld) -> None:
    metrics = world.client.app.state.context.metrics
    obs = metrics.observer("m:1")
    for ttft in (0.03, 0.03, 0.03, 0.3):
        obs.first_token(ttft, prompt_tokens=5)
    for reason in ("stop", "stop", "length", "timeout"):
        obs.finished(reason, 0.7, completion_tokens=3)
    r = world.ok("GET", "/admin/v1/serving/metrics", world.platform)
    (m,) = r["data"]
    assert m["model"] == "m:1"
    assert m["ttft"]["count"] == 4
    assert m["ttft"]["p50_s"] == pytest.approx(0.025 + 0.025 * 2 / 3)
    assert m["ttft"]["p99_s"] == pytest.approx(0.2 + 0.2 * 0.96)
    assert m["e2e"]["p50_s"] == pytest.approx(0.5 + 0.5 * 0.5)  # all four in (0.5, 1]
    assert m["outcomes"] == {"length": 1, "stop": 2, "timeout": 1}
    assert (m["requests"], m["errors"], m["error_rate"]) == (4, 1, 0.25)

    assert (
        world.client.get("/admin/v1/serving/metrics", headers=world.north.headers).status_code
        == 404
    )
    c = browser(world)
    sign_in(c, world.south.admin_key)
    assert c.get("/admin/v1/serving/metrics").status_code == 404
    assert c.get("/admin/v1/economics?hardware_cost_per_hour_micros=1").status_code == 404


def test_the_new_routes_are_documented(world: AdminWorld) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    for path in ("/admin/v1/usage/series", "/admin/v1/serving/metrics"):
        op = paths[path]["get"]
        assert op["security"] == [{"AdminKey": []}] and {"401", "403", "404"} <= set(
            op["responses"]
        )
    assert "/console/session" in paths  # the sign-in is documented too
