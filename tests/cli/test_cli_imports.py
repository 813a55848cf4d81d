"""What a command loads, in a process of its own as a user runs it: ``mint --help``, every
``mint COMMAND --help`` and the commands that only read and write the store load no
machine-learning library (loading them took seconds and printed their warnings before
every command's output); a command that does load them prints none of their warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime

# Never for help or for a command on the store; the first five took seconds to import.
HEAVY = ("torch", "transformers", "torchao", "datasets", "accelerate", "peft", "sklearn")
# Help does not open the store either.
NOT_FOR_HELP = (*HEAVY, "pyarrow", "sqlalchemy")

# Runs each argument list of argv[1] (JSON) through the CLI in this one process, as `mint`
# would, and writes to argv[2] which of argv[3] (JSON) each had imported once it returned.
DRIVER = """
import json, sys
watched = json.loads(sys.argv[3])
def loaded():
    return sorted(m for m in watched if m in sys.modules)
report = [{"args": ["import"], "code": 0, "loaded": None}]
from modelmint.cli.main import app
report[0]["loaded"] = loaded()
for args in json.loads(sys.argv[1]):
    try:
        code = app(args, prog_name="mint", standalone_mode=False)
    except SystemExit as e:
        code = e.code
    except Exception as e:
        code = repr(e)
    report.append({"args": args, "code": code or 0, "loaded": loaded()})
with open(sys.argv[2], "w") as f:
    json.dump(report, f)
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.delenv("MINT_HARDWARE_COST_PER_HOUR", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    # The subprocess quiets the libraries itself; nothing set by this process may do it.
    for name in ("PYTHONWARNINGS", "TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def run_cli(
    commands: list[list[str]], watched: tuple[str, ...], tmp_path: Path
) -> tuple[list[dict[str, Any]], subprocess.CompletedProcess[str]]:
    out = tmp_path / "report.json"
    args = [json.dumps(commands), str(out), json.dumps(watched)]
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )
    assert out.exists(), done.stderr[-3000:]
    return json.loads(out.read_text()), done


def every_command(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Each command and group under ``group``, as the words that name it."""
    found = []
    for name, command in group.commands.items():
        found.append((*path, name))
        if hasattr(command, "commands"):
            found += every_command(command, (*path, name))
    return found


def first_to_load(report: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(command, what it loaded) for each command that loaded something."""
    before: set[str] = set()
    culprits = []
    for row in report:
        new = sorted(set(row["loaded"]) - before)
        if new:
            culprits.append((" ".join(row["args"]), new))
        before |= set(row["loaded"])
    return culprits


def test_help_of_every_command_loads_no_library(home: Path, tmp_path: Path) -> None:
    commands = every_command(typer.main.get_command(app))
    assert len(commands) > 60 and ("label", "annotators", "add") in commands
    report, done = run_cli(
        [["--help"], *([*c, "--help"] for c in commands)], NOT_FOR_HELP, tmp_path
    )
    assert [r["code"] for r in report] == [0] * len(report), done.stderr[-3000:]
    assert first_to_load(report) == []
    assert done.stderr == ""


def populate(home: Path) -> None:
    """A run with metrics and a model version with an evaluation, written directly."""
    catalog = Runtime.open().catalog
    run = catalog.start_run("train:pretrain-clm", dataset_id=None, config={})
    catalog.log_metrics(run, 1, {"loss": 3.5})
    catalog.finish_run(run, metrics={"train_loss": 3.5}, output_path=None)
    for kind in ("model", "evaluation"):
        (home / kind).mkdir(parents=True)
        (home / kind / "facts.json").write_text("{}")
    model = catalog.add_model_version(
        "demo", home / "model", run_id=run, kind="causal-lm", num_parameters=5_000_000,
        metrics={"perplexity": 4.2},
    )  # fmt: skip
    catalog.evaluations.add(
        model.id, home / "evaluation", suite="perplexity", dataset="support:1", dataset_id=None,
        dataset_hash=None, split="validation", options={}, metrics={"perplexity": 4.2},
    )  # fmt: skip


STORE_COMMANDS = [
    ["tenants", "create", "acme"],
    ["tenants", "update", "acme", "--rpm", "60", "--billing", "prepaid"],
    ["tenants", "list"],
    ["keys", "create", "--tenant", "acme", "--name", "ci"],
    ["keys", "list"],
    ["channels", "create", "resell"],
    ["channels", "list"],
    ["admin-keys", "create", "--name", "ops"],
    ["admin-keys", "list"],
    ["prices", "create-book", "gold"],
    ["prices", "set", "gold", "demo", "--input", "1", "--output", "2"],
    ["prices", "list"],
    ["wallets", "topup", "acme", "25", "--note", "order 1"],
    ["wallets", "show", "acme"],
    ["budgets", "set", "acme", "100", "--soft"],
    ["budgets", "list"],
    ["alerts"],
    ["usage", "--tenant", "acme"],
    ["usage", "--tenant", "acme", "--json"],
    ["invoices", "generate", "--period", "2025-01"],
    ["invoices", "list"],
    ["invoices", "credit-notes"],
    ["economics", "--hardware-cost-per-hour", "1.20"],
    ["audit"],
    ["audit", "--json"],
    ["models", "list"],
    ["models", "list", "--json"],
    ["models", "show", "demo"],
    ["models", "alias", "demo", "1", "production"],
    ["runs", "list"],
    ["runs", "show", "1", "--json"],
    ["eval", "list"],
    ["eval", "list", "demo:1", "--json"],
    ["data", "list"],
    ["label", "list"],
    ["label", "annotators", "list"],
    ["feedback", "list"],  # last: labeling.feedback writes datasets, so it imports pyarrow
]


def test_commands_on_the_store_load_no_library(home: Path, tmp_path: Path) -> None:
    populate(home)
    report, done = run_cli(STORE_COMMANDS, (*HEAVY, "pyarrow"), tmp_path)
    failed = [(r["args"], r["code"]) for r in report if r["code"] != 0]
    assert failed == [], done.stderr[-3000:]
    assert first_to_load(report) == [("feedback list", ["pyarrow"])]
    assert done.stderr == ""
    assert "perplexity 4.2" in done.stdout  # models list showed the evaluation's headline


def test_a_command_that_loads_torch_prints_none_of_the_libraries_warnings(
    home: Path, tmp_path: Path
) -> None:
    """``mint train`` imports torch, transformers and torchao (through the Trainer) before it
    finds the recipe's dataset missing: the only line on stderr is the error. A Python
    warning raised in a library module is kept off the terminal; one of modelmint's shows."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text("recipe: pretrain-clm\nname: lm\ndataset: nothing\n")
    warn = (
        "import warnings\n"
        "warnings.warn_explicit('from a library', FutureWarning, 'x.py', 1, module='torch.x')\n"
        "warnings.warn_explicit('ours', UserWarning, 'y.py', 1, module='modelmint.training')\n"
    )
    commands = [["train", "--recipe", str(recipe)]]
    report, done = run_cli(commands, ("torch", "torchao", "transformers"), tmp_path)
    assert report[-1]["code"] == 1
    assert report[-1]["loaded"] == ["torch", "torchao", "transformers"]  # it did load them
    assert done.stderr.splitlines() == [
        "error: dataset 'nothing': no dataset nothing; see `mint data list`"
    ]
    shown = subprocess.run(
        [sys.executable, "-c", "import modelmint.cli\n" + warn],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert "ours" in shown.stderr and "from a library" not in shown.stderr


def test_the_suites_the_eval_help_names_are_the_suites() -> None:
    from modelmint.evaluation import SUITE_NAMES, SUITES

    assert tuple(SUITES) == SUITE_NAMES
