"""The same recipe under `accelerate launch` with 2 processes (gloo, on CPU) computes the same
gradients as one process given the same global batch, and registers one model; and the 2
processes share out the training set so that each example is trained once per epoch."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from modelmint.catalog import Catalog
from modelmint.data import CurateConfig, SplitConfig, curate
from modelmint.samples import write_sample_corpus
from modelmint.store import Store
from support.training import MICRO_ARCH, curated_catalog

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


def recipe(name: str, batch_size: int, dataset: str = "support", **training: Any) -> str:
    return json.dumps(
        {
            "recipe": "pretrain-clm",
            "name": name,
            "dataset": dataset,
            "architecture": MICRO_ARCH,
            "tokenizer": {"vocab_size": 1000},
            "block_size": 64,
            # fp32: the comparison is of arithmetic, not of bf16 rounding
            "training": {
                "max_steps": 1,
                "batch_size": batch_size,
                "bf16": False,
                "seed": 7,
                **training,
            },
        }
    )


def small_catalog(home: Path, dialogues: int) -> Catalog:
    """A dataset "shards" of a sample corpus of ``dialogues`` dialogues, all for training."""
    corpus = home / "sample.jsonl"
    write_sample_corpus(corpus, n_dialogues=dialogues, seed=3)
    catalog = Catalog(Store.open(f"sqlite:///{home / 'mint.db'}"), home / "artifacts")
    curate(catalog, [corpus], "shards", CurateConfig(splits=SplitConfig(validation=0.0)))
    return catalog


def run(cmd: list[str], home: Path) -> None:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=home)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-5000:]


def launch_two(script: Path, *args: str, home: Path) -> None:
    accelerate = str(Path(sys.executable).parent / "accelerate")
    config = HERE.parents[1] / "configs" / "accelerate" / "cpu-2proc.yaml"
    cmd = [accelerate, "launch", "--config_file", str(config), "--main_process_port", "0"]
    run([*cmd, str(script), *args], home)


def test_two_processes_compute_the_gradients_of_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    catalog = curated_catalog(home)
    script = str(HERE / "distributed_step.py")
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    run([sys.executable, script, str(home), recipe("single", 8), str(one)], home)
    launch_two(Path(script), str(home), recipe("double", 4), str(two), home=home)
    assert_same_gradients(one, two)
    # one model registered, by the main process only
    assert [m.model.label for m in catalog.list_models()] == ["double:1", "single:1"]


def assert_same_gradients(one: Path, two: Path) -> None:
    assert json.loads(two.with_suffix(".json").read_text())["world_size"] == 2
    assert json.loads(one.with_suffix(".json").read_text())["world_size"] == 1
    g1, g2 = torch.load(one), torch.load(two)
    assert g1.keys() == g2.keys()
    scale = max(g.abs().max().item() for g in g1.values())
    worst = max((g1[k] - g2[k]).abs().max().item() for k in g1)
    assert scale > 0 and worst <= 1e-5 * max(1.0, scale), f"gradients differ by {worst}"


def test_a_padded_last_step_computes_the_gradients_of_one(tmp_path: Path) -> None:
    """21 examples (the count is checked below) in global batches of 8: the last step has 5,
    3 on one process and 2 on the other beside 3 padding rows, and its gradients are one
    process's over the 5."""
    home = tmp_path / "home"
    small_catalog(home, dialogues=8)
    script = HERE / "distributed_step.py"
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    last = "2"  # the third step, of three
    whole = {"max_steps": None, "epochs": 1}
    run(
        [
            sys.executable,
            str(script),
            str(home),
            recipe("single", 8, "shards", **whole),
            str(one),
            last,
        ],
        home,
    )
    launch_two(script, str(home), recipe("double", 4, "shards", **whole), str(two), last, home=home)
    assert_same_gradients(one, two)


# Dialogues of the sample corpus -> packed blocks of 64 tokens in the training split: 21 leaves
# 5 examples for the last global batch of 8; 33 leaves 1, so one process's last batch has no
# example of the set at all.
@pytest.mark.parametrize(
    ("kind", "dialogues", "blocks"), [("pretrain-clm", 8, 21), ("pretrain-mlm", 12, 33)]
)
def test_two_processes_train_each_example_once_per_epoch(
    tmp_path: Path, kind: str, dialogues: int, blocks: int
) -> None:
    home, out = tmp_path / "home", tmp_path / "probe"
    small_catalog(home, dialogues)
    batch, processes, epochs = 4, 2, 2
    recipe = {
        "recipe": kind,
        "name": "shards",
        "dataset": "shards",
        "architecture": MICRO_ARCH,
        "tokenizer": {"vocab_size": 1000},
        "block_size": 64,
        "training": {"epochs": epochs, "batch_size": batch, "bf16": False, "seed": 7},
    }
    launch_two(HERE / "shard_probe.py", str(home), json.dumps(recipe), str(out), home=home)

    examples = Counter(json.loads((out / "examples.json").read_text()))
    assert examples.total() == blocks, "the corpus no longer makes the uneven set this needs"
    steps = [json.loads((out / f"steps-{rank}.json").read_text()) for rank in range(processes)]
    # the processes step together, and as many times as the global batches of the set
    assert len(steps[0]) == len(steps[1]) == epochs * math.ceil(blocks / (batch * processes))
    orders = []
    for epoch in range(epochs):
        rows = [
            row
            for rank in steps
            for step in rank
            if step["epoch"] == epoch
            for row, counted in step["rows"]
            if counted
        ]
        trained = Counter(rows)
        twice = sum(n - 1 for n in trained.values() if n > 1)
        summary = f"epoch {epoch}: {trained.total()} trained of {blocks}, {twice} again"
        assert trained == examples, summary
        orders.append(rows)
    assert orders[0] != orders[1]  # each epoch shuffled anew
    losses = [step["loss"] for rank in steps for step in rank]
    assert all(math.isfinite(loss) for loss in losses), losses
