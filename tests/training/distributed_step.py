"""Run by test_distributed.py, alone or under `accelerate launch`: a recipe, saving (on rank
0) the gradients of one optimizer step (the first, or the one given) as the optimizer is
about to see them, which under DDP are already averaged over the processes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from modelmint.catalog import Catalog
from modelmint.store import Store
from modelmint.training import parse_recipe, start_training


class SaveGradients(TrainerCallback):
    def __init__(self, out: Path, step: int) -> None:
        self.out, self.step = out, step

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if state.global_step == self.step and args.process_index == 0:
            model = kw["model"]
            model = getattr(model, "module", model)
            grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
            torch.save(grads, self.out)
            self.out.with_suffix(".json").write_text(json.dumps({"world_size": args.world_size}))


def main() -> None:
    home, recipe, out = Path(sys.argv[1]), json.loads(sys.argv[2]), Path(sys.argv[3])
    step = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    catalog = Catalog(Store.open(f"sqlite:///{home / 'mint.db'}"), home / "artifacts")
    outcome = start_training(catalog, parse_recipe(recipe), callbacks=[SaveGradients(out, step)])
    if int(os.environ.get("RANK", "0")) == 0:
        assert outcome.model is not None


if __name__ == "__main__":
    main()
