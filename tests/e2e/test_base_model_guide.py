"""docs/base-model.md as a user follows it: every ``bash`` block of the page, as written,
in a shell, in order, on a machine whose ``~/models/Qwen2.5-0.5B-Instruct`` is a tiny
random Qwen2 checkpoint (tests/support/open_weights.py) and whose working directory holds
the checkout's ``recipes/``.

Two things differ from a user's terminal, where a program cannot follow the page
literally: ``mint serve`` runs in the background on a free port (the next block's URL is
pointed at it), and the Ollama block is not run (no Ollama here). What Ollama would read is
checked instead: the GGUF file, loaded back, computes the served model's logits, and the
Modelfile carries Qwen's template and stops. The catalog is SQLite under the private
``$HOME``, as on a user's first day."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.gguf_roundtrip import load_back, logits, reference, rounded_as_stored
from support.helpers import mint_serve_process
from support.open_weights import build_checkpoint

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "base-model.md"
CHECKPOINT = "models/Qwen2.5-0.5B-Instruct"  # under the user's home, as the page has it
PAGE_PORT = "8000"


def guide_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)


def _user_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINT_")}
    bin_dir = str(Path(sys.executable).parent)
    return env | {"HOME": str(home), "PATH": f"{bin_dir}:{env['PATH']}", "COLUMNS": "200"}


def _shell(block: str, env: dict[str, str], cwd: Path) -> str:
    p = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    output = f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    assert p.returncode == 0, f"{block}\nexit {p.returncode}\n{output}"
    return p.stdout


def _perplexity_verdict(compare_output: str) -> str:
    """The verdict column of the perplexity row of ``mint eval compare``."""
    for line in compare_output.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        if len(cells) == 6 and cells[0] == "perplexity":  # metric, a, b, difference, interval
            return cells[-1]
    raise AssertionError(f"no perplexity row in:\n{compare_output}")


def test_the_guide_runs_from_import_to_ollama(tmp_path: Path) -> None:
    home = tmp_path / "user"
    build_checkpoint("qwen2", home / CHECKPOINT)
    work = home / "modelmint"
    shutil.copytree(REPO / "recipes", work / "recipes")
    env = _user_env(home)
    blocks = guide_blocks()
    assert [b.split()[:2] for b in blocks] == [
        ["mint", "data"],
        ["mint", "models"],
        ["mint", "train"],
        ["mint", "eval"],
        ["mint", "models"],
        ["mint", "serve"],
        ["mint", "tenants"],
        ["mint", "models"],
        ["cd", "support-qwen-v1-q8_0"],
    ], "the page's steps changed: this test runs them in order and checks each"
    data, imported, tuned, evaluated, promoted, serve, ask, export, ollama = blocks

    _shell(data, env, work)
    assert "imported qwen:1" in _shell(imported, env, work)
    assert "merged support-qwen-lora:1 into its base: support-qwen:1" in _shell(tuned, env, work)
    # LoRA on the customer-service conversations beats the base on their held-out split
    assert _perplexity_verdict(_shell(evaluated, env, work)) == "better"
    history = _shell(promoted, env, work)
    assert "production" in history and "cli:" in history

    argv = shlex.split(serve)
    assert argv[-2:] == ["--port", PAGE_PORT]
    with mint_serve_process(argv[2:-2], env) as (_, base):
        said = _shell(ask.replace(f"127.0.0.1:{PAGE_PORT}", base[7:]), env, work)
    answer = json.loads(said.splitlines()[-1])  # curl's, after what mint tenants create says
    (choice,) = answer["choices"]
    assert choice["message"]["content"] and choice["finish_reason"] in ("stop", "length")
    assert answer["usage"]["completion_tokens"] > 0

    shown = json.loads(_shell("mint models show support-qwen@production", env, work))
    _shell(export, env, work)
    out = work / ollama.split()[1]
    (gguf,) = out.glob("*.gguf")
    modelfile = (out / "Modelfile").read_text()
    assert f"FROM ./{gguf.name}" in modelfile and "<|im_start|>" in modelfile
    assert 'PARAMETER stop "<|im_end|>"' in modelfile
    served = Path(shown["path"])
    ours = rounded_as_stored(reference(served, "qwen2"), "q8_0")
    ids = list(range(10, 40))
    diff = (logits(ours, ids) - logits(load_back(gguf, ours), ids)).abs().max().item()
    assert diff <= 1e-5, diff
