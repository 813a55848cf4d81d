"""``mint train --recipe sft --from-feedback MODEL``: the accepted feedback on a model's
answers becomes an SFT dataset version, and the model version that answered is fine-tuned
on it; the new version's lineage names both."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.commerce.ledger import UsageRecord
from modelmint.labeling.feedback import Feedback
from modelmint.labeling.transcripts import Transcripts
from support.helpers import build_micro_model

runner = CliRunner()
CHATS = [
    ("我的快递到哪里了？", "不知道", "您的快递已到达本地网点，预计明天送达。"),
    ("How do I reset my password?", "No idea", "Open Settings, then Security, then Reset."),
    ("退款要多久？", "三到五个工作日到账。", None),  # rated 5: the original answer is kept
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    rt = Runtime.open()
    for _ in range(2):  # bot:1 and bot:2; only bot:1 answered
        rt.catalog.add_model_version(
            "bot",
            build_micro_model(rt.catalog.staging_dir("model")),
            run_id=None,
            kind="causal-lm",
            num_parameters=1,
            metrics={},
        )
    return tmp_path / "home"


def _give_feedback(accept: bool) -> list[int]:
    rt = Runtime.open()
    mv = rt.catalog.resolve_model("bot:1")
    rt.tenants.create("acme")
    principal = rt.keys.authenticate(rt.keys.create("acme").key)
    assert principal is not None
    fb = Feedback(rt.store)
    ids = []
    for i, (question, answer, corrected) in enumerate(CHATS):
        rid = f"chatcmpl-{i}"
        rt.ledger.record(
            UsageRecord(
                rid,
                principal.tenant_id,
                principal.key_id,
                mv.id,
                "chat.completions",
                1,
                1,
                1,
                "completed",
            )
        )
        Transcripts(rt.store).write(
            rid,
            tenant_id=principal.tenant_id,
            api_key_id=principal.key_id,
            model_version_id=mv.id,
            endpoint="chat.completions",
            request={"messages": [{"role": "user", "content": question}]},
            choices=[answer],
        )
        kw = {"corrected": corrected} if corrected else {"rating": 5}
        rec, _ = fb.record(rid, tenant_id=principal.tenant_id, api_key_id=principal.key_id, **kw)
        if accept:
            fb.review(rec.id, "accept", "ann")
        ids.append(rec.id)
    return ids


def _recipe(tmp_path: Path, kind: str = "sft") -> Path:
    path = tmp_path / f"{kind}.yaml"
    recipe = {
        "recipe": kind,
        "name": "bot-fb",
        "dataset": "ignored",
        "base": "ignored",
        "training": {"max_steps": 2, "batch_size": 2, "warmup_steps": 0, "compile": False},
    }
    if kind == "sft":
        recipe["max_length"] = 64
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def test_fine_tunes_the_answering_version_on_accepted_feedback(home: Path, tmp_path: Path) -> None:
    ids = _give_feedback(accept=True)
    r = runner.invoke(app, ["train", "--recipe", str(_recipe(tmp_path)), "--from-feedback", "bot"])
    assert r.exit_code == 0, r.output
    assert (
        "3 SFT records in dataset bot-feedback-sft:1" in r.output
        and "fine-tuning bot:1" in r.output
    )
    rt = Runtime.open()
    model = rt.catalog.resolve_model("bot-fb")
    base = rt.catalog.resolve_model("bot:1")
    assert model.parent_id == base.id  # not bot:2, the newest, which answered nothing
    lineage = rt.catalog.lineage(model)
    assert lineage["parents"] == [{"model": "bot:1", "kind": "causal-lm"}]
    run = rt.catalog.get_run(model.run_id)
    dataset = rt.catalog.get_dataset("bot-feedback-sft")
    assert run.dataset_id == dataset.id
    rows = dataset.read_split("train")
    assert [row["messages"][-1]["content"] for row in rows] == [
        CHATS[0][2],
        CHATS[1][2],
        CHATS[2][1],
    ]
    assert {f"feedback:{i} model:bot:1" for i in ids} == {row["source"] for row in rows}


def test_without_accepted_feedback_says_how_to_review(home: Path, tmp_path: Path) -> None:
    _give_feedback(accept=False)
    r = runner.invoke(app, ["train", "--recipe", str(_recipe(tmp_path)), "--from-feedback", "bot"])
    assert r.exit_code == 1 and "no accepted feedback on bot" in r.output, r.output
    assert "mint feedback review" in r.output
    assert Runtime.open().catalog.list_runs() == []


def test_only_an_sft_recipe_and_no_dataset_override(home: Path, tmp_path: Path) -> None:
    _give_feedback(accept=True)
    r = runner.invoke(
        app, ["train", "--recipe", str(_recipe(tmp_path, "continue")), "--from-feedback", "bot"]
    )
    assert r.exit_code == 1 and "trains an sft recipe, this one is 'continue'" in r.output, r.output
    r = runner.invoke(
        app,
        ["train", "--recipe", str(_recipe(tmp_path)), "--from-feedback", "bot", "--set", "base=x"],
    )
    assert r.exit_code == 1 and "leave them out of --set" in r.output, r.output
    # nothing was exported by the refused commands
    assert [d.name for d in Runtime.open().catalog.list_datasets()] == []
