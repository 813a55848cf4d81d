"""Run by test_distributed.py, alone or under `accelerate launch`: a recipe trained for its
epochs, recording on each process the rows of every batch it trained on, and on the main
process every example of the training set, so that the test can count which example was
trained how often in each epoch.

An example is known by a digest of its input ids. A masked LM's collator replaces some of
them, so a row's ids are read back with its labels in the masked places (they hold the ids
the mask replaced). A row counts as trained when any of its labels is counted by the loss.
The loss of every step is recorded too: a padded-out batch must not make it NaN."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer

import modelmint.training.recipes.common as common
from modelmint.catalog import Catalog
from modelmint.store import Store
from modelmint.training import parse_recipe, start_training
from modelmint.training.examples import IGNORE


def digest(ids: Any) -> str:
    return hashlib.sha256(torch.as_tensor(ids, dtype=torch.int64).numpy().tobytes()).hexdigest()


def record_training_set(out: Path) -> None:
    """The examples the recipe hands to ``build_trainer``, as digests, from the main process."""
    build_trainer = common.build_trainer

    def recording(*args: Any, train_dataset: Any, **kwargs: Any) -> Any:
        if int(os.environ.get("RANK", "0")) == 0:
            rows = [digest(train_dataset[i]["input_ids"]) for i in range(len(train_dataset))]
            (out / "examples.json").write_text(json.dumps(rows))
        return build_trainer(*args, train_dataset=train_dataset, **kwargs)

    common.build_trainer = recording


def record_batches(log: list[dict[str, Any]]) -> None:
    """Each training step's rows: (digest, trained) with the epoch it fell in, and its loss."""
    training_step = Trainer.training_step

    def recording(self: Trainer, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        labels, ids = inputs["labels"], inputs["input_ids"]
        original = torch.where(labels != IGNORE, labels, ids) if labels.shape == ids.shape else ids
        trained = (labels != IGNORE).reshape(len(labels), -1).any(dim=1)
        loss = training_step(self, model, inputs, *args, **kwargs)
        log.append(
            {
                "epoch": int(self.state.epoch or 0),
                "rows": [[digest(r), bool(t)] for r, t in zip(original, trained, strict=True)],
                "loss": float(loss),
            }
        )
        return loss

    Trainer.training_step = recording  # type: ignore[method-assign]


def main() -> None:
    home, recipe, out = Path(sys.argv[1]), json.loads(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    record_training_set(out)
    log: list[dict[str, Any]] = []
    record_batches(log)
    catalog = Catalog(Store.open(f"sqlite:///{home / 'mint.db'}"), home / "artifacts")
    start_training(catalog, parse_recipe(recipe))
    (out / f"steps-{os.environ.get('RANK', '0')}.json").write_text(json.dumps(log))


if __name__ == "__main__":
    main()
