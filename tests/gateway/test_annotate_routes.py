"""The annotator page's routes: sign-in with a token, the session cookie and its flags,
CSRF on every change, revocation seen on the next request, projects an annotator may not
label, next/label/skip, and the zh strings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelmint.labeling import Annotations, final_labels
from modelmint.store import Store
from support.annotate import LabelSite, label_site

CSRF = "mint_label_csrf"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(store: Store, tmp_path: Path, clock: Clock) -> LabelSite:
    s = label_site(store, tmp_path)
    s.services.clock = clock
    return s


@pytest.fixture
def client(site: LabelSite) -> Iterator[TestClient]:
    with TestClient(site.app) as c:
        yield c


def sign_in(client: TestClient, token: str) -> dict:
    client.get("/label")
    r = client.post(
        "/label/session", json={"token": token}, headers={"X-CSRF-Token": client.cookies[CSRF]}
    )
    assert r.status_code == 200, r.text
    return r.json()


def headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies[CSRF]}


def set_cookie_lines(r) -> list[str]:  # type: ignore[no-untyped-def]
    return r.headers.get_list("set-cookie")


def test_page_without_session_is_the_sign_in_form_in_the_browsers_language(
    client: TestClient,
) -> None:
    r = client.get("/label", headers={"Accept-Language": "de-DE,zh-CN;q=0.9,en;q=0.8"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'lang="zh"' in r.text and 'data-signed-in="false"' in r.text
    assert 'id="sign-in-form"' in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    csrf_cookie = next(c for c in set_cookie_lines(r) if c.startswith(f"{CSRF}="))
    assert "httponly" not in csrf_cookie.lower()  # the page's script must read it
    assert "samesite=strict" in csrf_cookie.lower() and "Path=/label" in csrf_cookie
    en = client.get("/label", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="en"' in en.text


def test_sign_in_sets_a_strict_http_only_cookie_and_the_page_follows_the_annotator(
    site: LabelSite, client: TestClient
) -> None:
    _, token = site.services.annotators.create("li", language="zh")
    client.get("/label")
    r = client.post("/label/session", json={"token": token}, headers=headers(client))
    assert r.status_code == 200
    assert r.json() == {"name": "li", "language": "zh", "projects": ["intents", "other"]}
    session = next(c for c in set_cookie_lines(r) if c.startswith("mint_label_session="))
    flags = [f.strip().lower() for f in session.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/label" in flags
    assert "secure" not in flags  # plain http here
    assert token not in session  # the cookie holds who, not the token
    page = client.get("/label", headers={"Accept-Language": "en"})
    assert 'data-signed-in="true"' in page.text and 'lang="zh"' in page.text
    assert client.get("/label/api/me").json()["name"] == "li"


def test_https_requests_get_secure_cookies(site: LabelSite) -> None:
    _, token = site.services.annotators.create("sec")
    with TestClient(site.app, base_url="https://testserver") as c:
        c.get("/label")
        r = c.post("/label/session", json={"token": token}, headers=headers(c))
        assert r.status_code == 200
        assert all("secure" in line.lower() for line in set_cookie_lines(r))


def test_wrong_token_is_401_in_openai_shape(site: LabelSite, client: TestClient) -> None:
    client.get("/label")
    r = client.post(
        "/label/session", json={"token": "mml-000000000000-nope"}, headers=headers(client)
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert "mint_label_session" not in client.cookies
    assert client.get("/label/api/me").status_code == 401


def test_sign_in_needs_the_forms_csrf_token(site: LabelSite, client: TestClient) -> None:
    _, token = site.services.annotators.create("li")
    client.get("/label")
    r = client.post("/label/session", json={"token": token})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_token_missing"
    r = client.post("/label/session", json={"token": token}, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_token_mismatch"


def test_revoked_annotator_is_locked_out_on_the_next_request(
    site: LabelSite, client: TestClient
) -> None:
    _, token = site.services.annotators.create("gone")
    sign_in(client, token)
    assert client.get("/label/api/projects").status_code == 200
    site.services.annotators.revoke("gone")
    r = client.get("/label/api/projects")
    assert r.status_code == 401 and r.json()["error"]["code"] == "annotator_revoked"
    r = client.post("/label/api/projects/intents/next", json={}, headers=headers(client))
    assert r.status_code == 401
    assert 'data-signed-in="false"' in client.get("/label").text
    client.get("/label")
    again = client.post("/label/session", json={"token": token}, headers=headers(client))
    assert again.status_code == 401


def test_csrf_missing_or_mismatched_is_403(site: LabelSite, client: TestClient) -> None:
    _, token = site.services.annotators.create("li")
    client.get("/label")
    before = client.cookies[CSRF]
    sign_in(client, token)
    assert client.cookies[CSRF] != before  # a new token with the session
    url = "/label/api/projects/intents/next"
    r = client.post(url, json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_token_missing"
    assert r.json()["error"]["type"] == "permission_error"
    r = client.post(url, json={}, headers={"X-CSRF-Token": before})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_token_mismatch"
    assert client.post(url, json={}, headers=headers(client)).status_code == 200


def test_a_forged_or_expired_session_is_not_signed_in(
    site: LabelSite, client: TestClient, clock: Clock
) -> None:
    _, token = site.services.annotators.create("li")
    sign_in(client, token)
    value = client.cookies["mint_label_session"]
    body, _, mac = value.partition(".")
    client.cookies.delete("mint_label_session")
    client.cookies.set("mint_label_session", body + "." + mac[::-1])
    assert client.get("/label/api/me").status_code == 401
    client.cookies.delete("mint_label_session")
    client.cookies.set("mint_label_session", value)
    assert client.get("/label/api/me").status_code == 200
    clock.now += timedelta(hours=13)  # sessions last 12 hours
    assert client.get("/label/api/me").status_code == 401


def test_projects_outside_the_annotators_scope_are_404(site: LabelSite, client: TestClient) -> None:
    _, token = site.services.annotators.create("scoped", projects=["intents"])
    assert sign_in(client, token)["projects"] == ["intents"]
    names = [p["name"] for p in client.get("/label/api/projects").json()]
    assert names == ["intents"]
    for project in ("other", "missing"):
        r = client.post(f"/label/api/projects/{project}/next", json={}, headers=headers(client))
        assert r.status_code == 404 and r.json()["error"]["param"] == "project"
    item = client.post("/label/api/projects/intents/next", json={}, headers=headers(client))
    item_id = item.json()["item"]["id"]
    r = client.post(
        f"/label/api/projects/other/items/{item_id}/label",
        json={"value": 3},
        headers=headers(client),
    )
    assert r.status_code == 404


def test_next_label_and_skip(site: LabelSite, client: TestClient, store: Store) -> None:
    _, token = site.services.annotators.create("li")
    sign_in(client, token)
    h = headers(client)
    first = client.post("/label/api/projects/intents/next", json={}, headers=h).json()
    item = first["item"]
    assert first["progress"] == {"items": 6, "finished": 0, "labels": 0, "mine": 0}
    assert item["content"] == {"text": "I want a refund for my order"}
    # a reload shows the same item
    again = client.post("/label/api/projects/intents/next", json={}, headers=h).json()
    assert again["item"]["id"] == item["id"]
    Annotations(store).set_suggestion(item["id"] + 1, "shipping", 0.42, "classifier")

    r = client.post(
        f"/label/api/projects/intents/items/{item['id']}/label",
        json={"value": "refund", "seconds": 1.5},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["suggestion_use"] == "none" and body["value"] == "refund"
    assert body["progress"] == {"items": 6, "finished": 1, "labels": 1, "mine": 1}

    second = client.post("/label/api/projects/intents/next", json={}, headers=h).json()["item"]
    assert second["suggestion"] == "shipping" and second["confidence"] == pytest.approx(0.42)
    skipped = client.post(f"/label/api/projects/intents/items/{second['id']}/skip", headers=h)
    assert skipped.status_code == 200 and skipped.json()["released"] == 1
    third = client.post(
        "/label/api/projects/intents/next", json={"skip": [second["id"]]}, headers=h
    ).json()["item"]
    assert third["id"] not in (item["id"], second["id"])
    r = client.post(
        f"/label/api/projects/intents/items/{third['id']}/label",
        json={"value": "nonsense"},
        headers=h,
    )
    assert r.status_code == 400 and "one of" in r.json()["error"]["message"]
    # the skipped item, labeled later, records that the suggestion was overridden
    r = client.post(
        f"/label/api/projects/intents/items/{second['id']}/label",
        json={"value": "refund"},
        headers=h,
    )
    assert r.json()["suggestion_use"] == "overrode"
    assert final_labels(store, "intents").labels == {item["id"]: "refund", second["id"]: "refund"}


def test_language_choice_is_remembered(site: LabelSite, client: TestClient) -> None:
    _, token = site.services.annotators.create("li")
    sign_in(client, token)
    r = client.post("/label/api/me/language", json={"language": "zh"}, headers=headers(client))
    assert r.status_code == 200 and r.json()["language"] == "zh"
    assert 'lang="zh"' in client.get("/label").text
    bad = client.post("/label/api/me/language", json={"language": "fr"}, headers=headers(client))
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "language"


def test_sign_out_clears_the_session(site: LabelSite, client: TestClient) -> None:
    _, token = site.services.annotators.create("li")
    sign_in(client, token)
    assert client.post("/label/session/logout").status_code == 403
    r = client.post("/label/session/logout", headers=headers(client))
    assert r.status_code == 204
    assert client.get("/label/api/me").status_code == 401


def test_static_files_and_zh_strings_are_served(client: TestClient) -> None:
    strings = client.get("/label/static/i18n.json").json()
    assert set(strings) == {"en", "zh"}
    assert set(strings["en"]) == set(strings["zh"])  # every string in both languages
    assert strings["zh"]["skip"] == "跳过" and strings["zh"]["accept"] == "采纳"
    for name in ("annotate.js", "annotate.css", "index.html"):
        assert client.get(f"/label/static/{name}").status_code == 200
    packaged = files("modelmint.gateway").joinpath("static", "annotate", "i18n.json")
    assert json.loads(packaged.read_text(encoding="utf-8")) == strings
