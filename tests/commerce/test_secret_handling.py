"""Secrets: the key pepper file is never readable by anyone but its owner, not even while it
is being created; a key, token, cookie or CSRF token with non-ASCII characters is a wrong
secret (401/403), never a server error."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelmint.commerce import PLATFORM
from modelmint.commerce.accounts import AdminKeys, ApiKeys, Tenants, same_secret
from modelmint.config.settings import Settings, create_secret_file
from modelmint.labeling.annotators import Annotators
from modelmint.store import Store
from support.admin import PEPPER, admin_app, platform_key

NON_ASCII = ["sécret", "ключ", "🔑", "\ud800"]  # the last: a lone surrogate, as JSON allows


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(old)


def test_the_pepper_file_is_created_owner_only_even_under_a_permissive_umask(
    tmp_path: Path, permissive_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes: list[int] = []
    real_open = os.open

    def open_and_look(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        fd = real_open(path, flags, mode, **kw)
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))  # right at creation, before writing
        return fd

    real_chmod = Path.chmod

    def chmod_and_look(self: Path, mode: int, **kw: Any) -> None:
        modes.append(stat.S_IMODE(self.stat().st_mode))  # what it was until this chmod
        real_chmod(self, mode, **kw)

    monkeypatch.setattr(os, "open", open_and_look)
    monkeypatch.setattr(Path, "chmod", chmod_and_look)
    settings = Settings(home=tmp_path / "home", key_pepper=None, database_url=None)
    pepper = settings.resolved_key_pepper()
    path = tmp_path / "home" / "key_pepper"
    assert modes and all(m & 0o077 == 0 for m in modes), [oct(m) for m in modes]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(pepper) == 64 and settings.resolved_key_pepper() == pepper  # kept, not remade
    assert [p.name for p in path.parent.iterdir()] == ["key_pepper"]  # no temporary left


def test_an_existing_secret_file_is_kept_and_an_empty_pepper_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key_pepper"
    create_secret_file(path, "first")
    create_secret_file(path, "second")  # another process was first: its secret stays
    assert path.read_text() == "first"
    home = tmp_path / "home"
    home.mkdir()
    (home / "key_pepper").write_text("\n")
    with pytest.raises(ValueError, match=r"key_pepper is empty; restore it"):
        Settings(home=home, key_pepper=None, database_url=None).resolved_key_pepper()


@pytest.mark.parametrize("secret", NON_ASCII)
def test_same_secret_compares_any_text(secret: str) -> None:
    assert same_secret(secret, secret)
    assert not same_secret(secret, "abc") and not same_secret("abc", secret)


@pytest.mark.parametrize("secret", NON_ASCII)
def test_keys_and_tokens_with_non_ascii_characters_are_wrong(store: Store, secret: str) -> None:
    Tenants(store).create("acme")
    keys = ApiKeys(store, PEPPER)
    real = keys.create("acme").key
    prefix = real.split("-")[1]
    assert keys.authenticate(f"mm-{prefix}-{secret}") is None
    assert keys.authenticate(real[:-1] + secret) is None
    admin = AdminKeys(store, PEPPER)
    admin_prefix = admin.create(PLATFORM, "root").key.split("-")[1]
    assert admin.authenticate(f"mma-{admin_prefix}-{secret}") is None
    annotators = Annotators(store, PEPPER)
    _, token = annotators.create("ann")
    assert annotators.authenticate(token[:-1] + secret) is None


def test_over_http_a_non_ascii_key_cookie_or_csrf_token_is_refused_not_a_500(
    store: Store, tmp_path: Path
) -> None:
    # raise_server_exceptions (the default): a TypeError in the app would fail right here
    client = TestClient(admin_app(store, tmp_path / "artifacts"))
    platform_key(store)
    for header in ("Bearer mma-0123456789ab-sécret", "Bearer mm-0123456789ab-ключ"):
        value = header.encode()  # sent as UTF-8; the server decodes headers as latin-1
        assert client.get("/admin/v1/tenants", headers={"Authorization": value}).status_code == 401
        assert client.get("/v1/models", headers={"Authorization": value}).status_code == 401
    # a console session cookie whose signature is not ASCII
    r = client.get("/admin/v1/tenants", headers={"Cookie": "mint_console_session=e30.sé".encode()})
    assert r.status_code == 401
    # the sign-in form: a CSRF token that is not ASCII, then keys that are not
    client.get("/console")
    token = client.cookies["mint_console_csrf"]
    r = client.post(
        "/console/session", json={"key": "mma-x"}, headers={"X-CSRF-Token": "é".encode()}
    )
    assert r.status_code == 403
    r = client.post(
        "/console/session",
        content=b'{"key": "mma-0123456789ab-\\ud800"}',
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    # the body's schema refuses it before any key is hashed: a 400 naming the field
    assert r.status_code == 400 and r.json()["error"]["param"] == "key"
    r = client.post(
        "/console/session", json={"key": "mma-0123456789ab-sécret"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 401
