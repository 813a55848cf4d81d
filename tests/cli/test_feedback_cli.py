"""``mint feedback list|review|export`` through typer's CliRunner on a fresh MINT_HOME, with
requests billed through the ledger and kept as transcripts, as the gateway leaves them."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.commerce.ledger import UsageRecord
from modelmint.labeling.feedback import Feedback
from modelmint.labeling.transcripts import Transcripts

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    return tmp_path / "home"


def mint(*args: str, code: int = 0) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == code, r.output
    return r.output


def _answered(rt: Runtime, rid: str, tenant_id: int, key_id: int, mv: int, q: str, a: str) -> None:
    rt.ledger.record(
        UsageRecord(rid, tenant_id, key_id, mv, "chat.completions", 3, 2, 5, "completed")
    )
    Transcripts(rt.store).write(
        rid,
        tenant_id=tenant_id,
        api_key_id=key_id,
        model_version_id=mv,
        endpoint="chat.completions",
        request={"messages": [{"role": "user", "content": q}], "params": {"n": 1}},
        choices=[a],
    )


def test_list_review_export() -> None:
    rt = Runtime.open()
    mv = rt.catalog.add_model_version(
        "bot",
        rt.catalog.staging_dir("model"),
        run_id=None,
        kind="causal-lm",
        num_parameters=1,
        metrics={},
    )
    rt.tenants.create("acme")
    principal = rt.keys.authenticate(rt.keys.create("acme").key)
    assert principal is not None
    tid, kid = principal.tenant_id, principal.key_id
    _answered(rt, "r1", tid, kid, mv.id, "北京是哪个国家的首都？", "日本")
    _answered(rt, "r2", tid, kid, mv.id, "What is 2+2?", "4")
    fb = Feedback(rt.store)
    wrong, _ = fb.record("r1", tenant_id=tid, api_key_id=kid, rating=1, corrected="中国")
    right, _ = fb.record("r2", tenant_id=tid, api_key_id=kid, rating=5, tags=["math"])

    out = mint("feedback", "list", "--status", "new", "--model", "bot")
    assert "r1" in out and "中国" in out and "r2" in out
    mint("feedback", "export", "bot", code=1)  # nothing accepted yet
    assert "accepted" in mint("feedback", "review", str(wrong.id), "--accept")
    assert "give exactly one" in mint("feedback", "review", str(right.id), code=1)
    assert "no feedback 999" in mint("feedback", "review", "999", "--reject", code=1)
    assert mint("feedback", "list", "--status", "accepted").count("r1") == 1

    out = mint("feedback", "export", "bot", "--name", "bot-fb")
    assert "bot-fb-sft:1 (1 records)" in out and "bot-fb-preference:1 (1 records)" in out
    sft = rt.catalog.get_dataset("bot-fb-sft")
    assert sft.read_split("train")[0]["messages"][-1] == {"role": "assistant", "content": "中国"}
    pref = rt.catalog.get_dataset("bot-fb-preference").read_split("train")
    assert (pref[0]["chosen"], pref[0]["rejected"]) == ("中国", "日本")

    out = mint("feedback", "export", "bot", "--name", "bot-fb", "--include-unreviewed")
    assert "bot-fb-sft:2 (2 records)" in out  # the English answer rated 5 comes in
    rows = rt.catalog.get_dataset("bot-fb-sft").read_split("train")
    assert rows[1]["messages"] == [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
    ]
    assert rows[1]["source"] == f"feedback:{right.id} model:bot:1"
