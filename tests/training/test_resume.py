"""A run killed with SIGKILL resumes with `mint train resume RUN` and ends exactly where an
uninterrupted run with the same seed ends: same loss at every step, same weights.

Tolerance: 1e-6 on losses and 1e-6 on weights, and in practice both are equal to the bit,
because a checkpoint holds the model, the optimizer, the scheduler and every RNG state, and
the Trainer skips the batches already seen, so the data order is the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from support.training import MICRO_ARCH, curated_catalog

pytestmark = pytest.mark.slow

RECIPE = {
    "recipe": "pretrain-clm",
    "name": "resumable",
    "dataset": "support",
    "architecture": MICRO_ARCH | {"hidden_size": 128, "intermediate_size": 256},
    "tokenizer": {"vocab_size": 1000},
    "block_size": 128,
    # Steps of this size (not the micro one) leave the kill below 15 steps to land in, far
    # more than its polling needs.
    "training": {"max_steps": 20, "batch_size": 16, "warmup_steps": 2, "save_every": 5},
}


def mint(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"MINT_HOME": str(home), "MINT_KEY_PEPPER": "test"}
    return subprocess.Popen(
        [sys.executable, "-m", "modelmint.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finish(p: subprocess.Popen[bytes]) -> str:
    out = p.communicate(timeout=600)[0].decode()
    assert p.returncode == 0, out
    return out


def test_killed_run_resumes_to_the_same_loss_and_weights(tmp_path: Path) -> None:
    home = tmp_path / "home"
    catalog = curated_catalog(home)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))

    finish(mint(home, "train", "--recipe", str(recipe)))  # run 1: uninterrupted

    killed = mint(home, "train", "--recipe", str(recipe))  # run 2: killed after step 5
    done = catalog.run_dir(2) / "checkpoints" / "checkpoint-5" / "trainer_state.json"
    deadline = time.monotonic() + 300
    while not done.exists():
        assert killed.poll() is None, killed.communicate()[0].decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert catalog.get_run(2).status == "running"  # nobody got to say otherwise
    assert not (catalog.run_dir(2) / "checkpoints" / "checkpoint-20").exists()

    out = finish(mint(home, "train", "resume", "2"))
    assert "registered resumable:2" in out

    whole, resumed = catalog.run_metrics(1)["loss"], catalog.run_metrics(2)["loss"]
    assert [s for s, _ in resumed] == [s for s, _ in whole] == list(range(1, 21))
    worst = max(abs(a - b) for (_, a), (_, b) in zip(whole, resumed, strict=True))
    assert worst <= 1e-6, f"losses differ by up to {worst}"
    a = load_file(catalog.resolve_model("resumable:1").path / "model.safetensors")
    b = load_file(catalog.resolve_model("resumable:2").path / "model.safetensors")
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6
    assert catalog.get_run(2).status == "succeeded"
    assert torch.equal(a["model.embed_tokens.weight"], b["model.embed_tokens.weight"])
