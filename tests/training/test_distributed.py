"""The same recipe under `accelerate launch` with 2 processes (gloo, on CPU) computes the same
gradients as one process given the same global batch, and registers one model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from support.training import MICRO_ARCH, curated_catalog

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


def recipe(name: str, batch_size: int) -> str:
    return json.dumps(
        {
            "recipe": "pretrain-clm",
            "name": name,
            "dataset": "support",
            "architecture": MICRO_ARCH,
            "tokenizer": {"vocab_size": 1000},
            "block_size": 64,
            # fp32: the comparison is of arithmetic, not of bf16 rounding
            "training": {"max_steps": 1, "batch_size": batch_size, "bf16": False, "seed": 7},
        }
    )


def run(cmd: list[str], home: Path) -> None:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=home)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-5000:]


def test_two_processes_compute_the_gradients_of_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    catalog = curated_catalog(home)
    script = str(HERE / "distributed_step.py")
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    run([sys.executable, script, str(home), recipe("single", 8), str(one)], home)
    accelerate = str(Path(sys.executable).parent / "accelerate")
    run(
        [
            accelerate,
            "launch",
            "--config_file",
            str(HERE.parents[1] / "configs" / "accelerate" / "cpu-2proc.yaml"),
            "--main_process_port",
            "0",
            script,
            str(home),
            recipe("double", 4),
            str(two),
        ],
        home,
    )
    assert json.loads(two.with_suffix(".json").read_text())["world_size"] == 2
    assert json.loads(one.with_suffix(".json").read_text())["world_size"] == 1
    g1, g2 = torch.load(one), torch.load(two)
    assert g1.keys() == g2.keys()
    scale = max(g.abs().max().item() for g in g1.values())
    worst = max((g1[k] - g2[k]).abs().max().item() for k in g1)
    assert scale > 0 and worst <= 1e-5 * max(1.0, scale), f"gradients differ by {worst}"
    # one model registered, by the main process only
    assert [m.model.label for m in catalog.list_models()] == ["double:1", "single:1"]
