"""Signing out of the console or the annotator page revokes the session on the server: a
copy of the cookie taken before (another tab, a stolen cookie, a proxy's log) is refused
afterwards, for reading and for changing, until and after it would have expired; signing
in again revokes the session the browser had; expired revocations are swept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from modelmint.store import RevokedWebSession, Store
from support.admin import AdminWorld, build_world
from support.annotate import label_site


def _copy(client: TestClient, names: tuple[str, ...]) -> TestClient:
    """Another browser holding copies of ``client``'s cookies."""
    other = TestClient(client.app)
    for name in names:
        other.cookies.set(name, client.cookies[name])
    return other


CONSOLE = ("mint_console_session", "mint_console_csrf")
LABEL = ("mint_label_session", "mint_label_csrf")


def _platform_key(world: AdminWorld) -> str:
    return world.platform["Authorization"].removeprefix("Bearer ")


def _console_sign_in(client: TestClient, key: str) -> None:
    client.get("/console")
    r = client.post(
        "/console/session",
        json={"key": key},
        headers={"X-CSRF-Token": client.cookies["mint_console_csrf"]},
    )
    assert r.status_code == 200, r.text


def test_console_sign_out_revokes_the_session(store: Store, tmp_path: Path) -> None:
    world = build_world(store, tmp_path / "artifacts")
    c = TestClient(world.client.app)
    _console_sign_in(c, _platform_key(world))
    stolen = _copy(c, CONSOLE)
    assert stolen.get("/console/api/me").status_code == 200  # a copy works while signed in

    out = c.post("/console/session/logout", headers={"X-CSRF-Token": c.cookies[CONSOLE[1]]})
    assert out.status_code == 204
    assert stolen.get("/console/api/me").status_code == 401
    assert stolen.get("/admin/v1/tenants").status_code == 401
    change = stolen.post(
        "/admin/v1/tenants",
        json={"name": "made-after-sign-out"},
        headers={"X-CSRF-Token": stolen.cookies[CONSOLE[1]]},
    )
    assert change.status_code == 401, change.text
    assert 'data-signed-in="false"' in stolen.get("/console").text
    # the key itself is not affected: it signs in again
    _console_sign_in(c, _platform_key(world))
    assert c.get("/console/api/me").status_code == 200


def test_console_sign_in_again_revokes_the_previous_session(store: Store, tmp_path: Path) -> None:
    world = build_world(store, tmp_path / "artifacts")
    c = TestClient(world.client.app)
    _console_sign_in(c, _platform_key(world))
    before = _copy(c, CONSOLE)
    _console_sign_in(c, world.north.admin_key)  # another key in the same browser
    assert before.get("/console/api/me").status_code == 401
    assert c.get("/console/api/me").json()["scope"]["channel"] == "north"


def test_label_page_sign_out_revokes_the_session(store: Store, tmp_path: Path) -> None:
    site = label_site(store, tmp_path)
    _, token = site.services.annotators.create("li")
    c = TestClient(site.app)
    c.get("/label")
    r = c.post(
        "/label/session", json={"token": token}, headers={"X-CSRF-Token": c.cookies[LABEL[1]]}
    )
    assert r.status_code == 200, r.text
    stolen = _copy(c, LABEL)
    assert stolen.get("/label/api/me").status_code == 200

    out = c.post("/label/session/logout", headers={"X-CSRF-Token": c.cookies[LABEL[1]]})
    assert out.status_code == 204
    assert stolen.get("/label/api/me").status_code == 401
    nxt = stolen.post(
        "/label/api/projects/intents/next",
        json={},
        headers={"X-CSRF-Token": stolen.cookies[LABEL[1]]},
    )
    assert nxt.status_code == 401, nxt.text
    # signing out twice (the copy too) is harmless
    again = stolen.post("/label/session/logout", headers={"X-CSRF-Token": stolen.cookies[LABEL[1]]})
    assert again.status_code == 204


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_revocations_are_kept_only_while_the_session_could_live(
    store: Store, tmp_path: Path
) -> None:
    site = label_site(store, tmp_path)
    clock = Clock()
    site.services.clock = clock
    _, token = site.services.annotators.create("li")

    def sign_in_and_out() -> None:
        c = TestClient(site.app)
        c.get("/label")
        csrf = {"X-CSRF-Token": c.cookies[LABEL[1]]}
        assert c.post("/label/session", json={"token": token}, headers=csrf).status_code == 200
        csrf = {"X-CSRF-Token": c.cookies[LABEL[1]]}
        assert c.post("/label/session/logout", headers=csrf).status_code == 204

    def rows() -> int:
        with store.session() as s:
            return s.scalar(select(func.count(RevokedWebSession.id))) or 0

    sign_in_and_out()
    assert rows() == 1
    clock.now += timedelta(hours=13)  # the first session would have expired by now
    sign_in_and_out()
    assert rows() == 1  # the first one's row went; the second's is kept
