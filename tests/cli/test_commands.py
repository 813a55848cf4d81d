import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


def test_key_is_printed_once_as_the_last_line_and_works() -> None:
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    r = runner.invoke(app, ["keys", "create", "--tenant", "acme"])
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("mm-")
    principal = Runtime.open().keys.authenticate(key)
    assert principal is not None and principal.tenant == "acme"
    listing = runner.invoke(app, ["keys", "list"]).output
    assert key not in listing and key.split("-")[1] in listing


def test_user_errors_are_one_clear_line_and_exit_1() -> None:
    r = runner.invoke(app, ["keys", "create", "--tenant", "ghost"])
    assert r.exit_code == 1 and "no tenant 'ghost'" in r.output
    r = runner.invoke(app, ["serve", "--model", "nothing"])
    assert r.exit_code == 1 and "no model nothing" in r.output
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    r = runner.invoke(app, ["tenants", "create", "acme"])
    assert r.exit_code == 1 and "already exists" in r.output


def test_usage_of_a_tenant_without_requests_is_zero() -> None:
    runner.invoke(app, ["tenants", "create", "acme"])
    r = runner.invoke(app, ["usage", "--tenant", "acme", "--json"])
    assert r.exit_code == 0
    assert json.loads(r.output)["requests"] == 0


def test_data_sample_and_ingest(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    assert runner.invoke(app, ["data", "sample", str(out), "--n", "300"]).exit_code == 0
    r = runner.invoke(app, ["data", "ingest", str(out), "--name", "cs"])
    assert r.exit_code == 0 and "cs:1 (new version)" in r.output
    r = runner.invoke(app, ["data", "ingest", str(out), "--name", "cs"])
    assert "cs:1 (unchanged input" in r.output
    listing = runner.invoke(app, ["data", "list"]).output
    assert "cs" in listing and "validation" in listing
    stats = json.loads(runner.invoke(app, ["data", "stats", "cs", "--json"]).output)
    assert stats["read"] == 300 and stats["kept"] + stats["dropped"] == 300
    assert sum(stats["splits"].values()) == stats["kept"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": oops}\n')
    r = runner.invoke(app, ["data", "ingest", str(bad), "--name", "bad"])
    assert r.exit_code == 1 and f"{bad}:1" in r.output


def write_tickets(path: Path, with_final_punctuation: int) -> Path:
    """24 tickets of the quality evaluation set without their final full stop or question
    mark, then the first ``with_final_punctuation`` of them again as written."""
    cases = [json.loads(line) for line in QUALITY_EVAL.read_text(encoding="utf-8").splitlines()]
    tickets = [c["record"]["text"] for c in cases if c["kind"].startswith("ticket")]
    texts = [t.rstrip("。？！.?!") for t in tickets]
    texts += [t for t in tickets if t.endswith(("。", "？", "！", ".", "?", "!"))][
        :with_final_punctuation
    ]
    path.write_text(
        "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts),
        encoding="utf-8",
    )
    return path


QUALITY_EVAL = Path(__file__).resolve().parents[1] / "data" / "quality_eval" / "records.jsonl"


def test_ingest_shows_drops_per_rule_and_warns_of_a_rule_that_drops_most(tmp_path: Path) -> None:
    path = write_tickets(tmp_path / "tickets.jsonl", with_final_punctuation=8)
    # the web preset, with its page-length rules relaxed so that only C4's lines decide
    web_lines_only = ["--set", "min_doc_words=3", "--set", "ngram_min_words=150"]
    web_lines_only += ["--set", "c4_min_sentences=none", "--set", "min_stop_words=none"]
    r = runner.invoke(
        app, ["data", "ingest", str(path), "--name", "web", "--preset", "web", *web_lines_only]
    )
    assert r.exit_code == 0, r.output
    assert "read 32, kept 8, dropped 24" in r.output
    assert re.search(r"c4_too_few_lines\s*│\s*24\s*│\s*75%", r.output), r.output
    warning = " ".join(r.output[r.output.index("warning:") :].split())
    assert warning.startswith("warning: c4_too_few_lines dropped 24 of the 32 records read (75%)")
    assert "set by c4_terminal_punct, c4_min_words_per_line, c4_min_lines" in warning
    assert "--set NAME=VALUE" in warning and "--quality default|web|off" in warning

    # The default keeps every ticket; the 8 written twice are the same text to de-duplication,
    # which ignores punctuation. A quarter of the input is no warning.
    r = runner.invoke(app, ["data", "ingest", str(path), "--name", "default"])
    assert r.exit_code == 0 and "read 32, kept 24, dropped 8" in r.output, r.output
    assert re.search(r"exact_duplicate\s*│\s*8\s*│\s*25%", r.output), r.output
    assert "warning" not in r.output


def test_ingest_of_nothing_left_names_the_rule_and_how_to_relax_it(tmp_path: Path) -> None:
    path = write_tickets(tmp_path / "tickets.jsonl", with_final_punctuation=0)
    args = ["--quality", "web", "--set", "min_doc_words=3"]
    r = runner.invoke(app, ["data", "ingest", str(path), "--name", "t", *args])
    message = " ".join(r.output.split())
    assert r.exit_code == 1 and "no documents left" in message, r.output
    assert re.search(r"gopher_top_ngram dropped \d+ of 24: it is a quality rule", message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "min_char=3"], "no quality setting 'min_char'; the settings are: gopher"),
        (["--set", "min_chars=few"], "min_chars takes a whole number, or none to switch it off"),
        (["--quality", "off", "--set", "min_chars=3"], "use it with default or web"),
        (["--preset", "strict"], "--quality must be default, web or off, not 'strict'"),
    ],
)
def test_ingest_refuses_a_bad_quality_setting(
    tmp_path: Path, args: list[str], message: str
) -> None:
    path = write_tickets(tmp_path / "tickets.jsonl", with_final_punctuation=0)
    r = runner.invoke(app, ["data", "ingest", str(path), "--name", "t", *args])
    assert r.exit_code == 1 and message in " ".join(r.output.split()), r.output
