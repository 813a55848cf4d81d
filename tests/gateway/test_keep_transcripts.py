"""A tenant that keeps transcripts gets one for every request, without ``store: true``;
other tenants only when they ask. Set through the tenants service, the admin API and
``mint tenants update``."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.commerce import PLATFORM, CommerceError
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.labeling.transcripts import Transcripts
from modelmint.store import Store
from support.admin import admin_app, platform_key


def _ask(client, path: str, key: str | None = None) -> str:
    body = {"model": "micro", "max_tokens": 3}
    if path == "/v1/chat/completions":
        body["messages"] = [{"role": "user", "content": "你好"}]
    else:
        body["prompt"] = "hello"
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    r = client.post(path, json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["id"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
def test_tenant_that_keeps_transcripts_gets_them_without_store(gateway, path: str) -> None:
    client, store = gateway["client"], gateway["ledger"].store
    Tenants(store).create("keeper", keep_transcripts=True)
    keeper = ApiKeys(store, pepper=b"test").create("keeper").key
    kept = _ask(client, path, keeper)
    t = Transcripts(store).get(kept)
    assert t is not None and len(t.choices) == 1
    assert ("messages" in t.request) == (path == "/v1/chat/completions")
    not_kept = _ask(client, path)  # acme keeps nothing unless asked
    assert Transcripts(store).get(not_kept) is None


def test_turning_it_on_and_off_applies_to_the_next_request(gateway) -> None:
    client, store = gateway["client"], gateway["ledger"].store
    tenants = Tenants(store)
    assert tenants.update(PLATFORM, "acme", keep_transcripts=True).keep_transcripts
    on = _ask(client, "/v1/chat/completions")
    assert Transcripts(store).get(on) is not None
    assert not tenants.update(PLATFORM, "acme", keep_transcripts=False).keep_transcripts
    off = _ask(client, "/v1/chat/completions")
    assert Transcripts(store).get(off) is None
    assert not tenants.get(PLATFORM, "acme").keep_transcripts
    with pytest.raises(CommerceError, match="keep_transcripts"):
        tenants.update(PLATFORM, "acme")


def test_admin_api_create_and_update(store: Store, tmp_path: Path) -> None:
    client = TestClient(admin_app(store, tmp_path / "artifacts"))
    client.headers["Authorization"] = f"Bearer {platform_key(store)}"
    r = client.post("/admin/v1/tenants", json={"name": "kt", "keep_transcripts": True})
    assert r.status_code == 201 and r.json()["keep_transcripts"] is True, r.text
    r = client.patch("/admin/v1/tenants/kt", json={"keep_transcripts": False})
    assert r.status_code == 200 and r.json()["keep_transcripts"] is False, r.text
    r = client.patch("/admin/v1/tenants/kt", json={"rpm_limit": 5})
    assert r.json()["keep_transcripts"] is False  # untouched when not given
    r = client.patch("/admin/v1/tenants/kt", json={"keep_transcripts": "maybe"})
    assert r.status_code == 400 and "keep_transcripts" in str(r.json()["error"])


def test_cli_update_keep_transcripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    r = runner.invoke(app, ["tenants", "update", "acme", "--keep-transcripts"])
    assert r.exit_code == 0 and "keeps every transcript" in r.output, r.output
    assert Runtime.open().tenants.get(PLATFORM, "acme").keep_transcripts
    r = runner.invoke(app, ["tenants", "update", "acme", "--no-keep-transcripts"])
    assert r.exit_code == 0 and "keeps every transcript" not in r.output, r.output
    assert not Runtime.open().tenants.get(PLATFORM, "acme").keep_transcripts
