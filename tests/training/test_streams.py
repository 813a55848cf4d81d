"""Training reads splits as streams and its examples from memory-mapped files: the examples
are the very ones the list-based builders make, in the same order, whatever the batching;
a file is reused only when it was built the same way; and no recipe reads a split as a
list."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
import torch

from modelmint.catalog import Catalog, DatasetRef
from modelmint.modeling import classifier_text, load_tokenizer, record_text
from modelmint.training import parse_recipe, start_training, streams
from modelmint.training.examples import (
    classification_examples,
    classification_rows,
    pack_blocks,
    packed_stream,
    sft_examples,
    sft_rows,
)
from modelmint.training.streams import SplitStream, block_file, example_file
from support.helpers import build_micro_model
from support.training import micro_clm


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_micro_model(tmp_path_factory.mktemp("base"))


def test_streamed_examples_are_the_listed_examples(
    catalog: Catalog, base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # batches of 64 records and of 64 examples, so that many batch edges are crossed
    monkeypatch.setattr(streams, "BATCH_ROWS", 64)
    dataset = catalog.get_dataset("support")
    split = SplitStream(dataset, "train")
    records = dataset.read_split("train")
    assert len(split) == len(records) > 5 * 64
    tok = load_tokenizer(base)

    texts = ([record_text(r, tok) for r in batch] for batch in split.batches())
    blocks = block_file(
        tmp_path / "b.arrow", "b", packed_stream(texts, tok, 64), labels_are_inputs=True
    )
    listed = pack_blocks([record_text(r, tok) for r in records], tok, 64)
    assert len(blocks) == len(listed) and blocks.longest() == 64
    for i in range(len(listed)):
        ex = blocks[i]
        assert torch.equal(ex["input_ids"], listed[i]) and ex["labels"] is ex["input_ids"]
        assert ex["input_ids"].dtype == torch.long

    chats = example_file(tmp_path / "s.arrow", "s", sft_examples(split.records(), tok, 96))
    rows = sft_rows(records, tok, 96).rows
    assert [chats[i] for i in range(len(chats))] == rows
    assert chats.longest() == max(len(r["input_ids"]) for r in rows) == 96
    assert chats.mean_length() == pytest.approx(sum(len(r["input_ids"]) for r in rows) / len(rows))

    classes = sorted({r["labels"]["intent"] for r in records})[:-1]  # one left out: skipped
    ids = {c: i for i, c in enumerate(classes)}

    def text(r: dict[str, Any]) -> str:
        return classifier_text(r, "first_user_turn")

    labelled = example_file(
        tmp_path / "c.arrow",
        "c",
        classification_examples(split.batches(), tok, "intent", ids, 32, text),
    )
    expected = classification_rows(records, tok, "intent", ids, 32, text).rows
    assert len(expected) < len(records)
    assert [labelled[i] for i in range(len(labelled))] == expected
    with pytest.raises(IndexError):
        labelled[len(labelled)]


def test_an_examples_file_is_reused_only_when_built_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "examples" / "train-x.arrow"
    made = [{"input_ids": [1, 2, 3], "labels": 0}, {"input_ids": [4], "labels": 1}]
    first = example_file(path, "one way", iter(made))

    def never() -> Any:
        raise AssertionError("a complete file built the same way is read, not rebuilt")
        yield

    again = example_file(path, "one way", never())
    assert [again[i] for i in range(len(again))] == made == [first[i] for i in range(2)]
    other = example_file(path, "another way", iter(made[:1]))
    assert len(other) == 1 and other[0] == made[0]
    # a process that gets the set (a data-loader worker) maps the same file
    copied = pickle.loads(pickle.dumps(other))
    assert copied[0] == made[0] and len(copied) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["train-x.arrow", "train-x.arrow.json"]
    empty = example_file(tmp_path / "empty.arrow", "none", iter([]))
    assert len(empty) == 0 and empty.longest() == 0


def test_no_recipe_reads_a_split_as_a_list(
    catalog: Catalog, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def as_list(self: DatasetRef, split: str) -> list[dict[str, Any]]:
        raise AssertionError(f"training read {self.label} {split} as a list")

    monkeypatch.setattr(DatasetRef, "read_split", as_list)
    steps = {"max_steps": 2, "batch_size": 4, "warmup_steps": 0}
    recipes = [
        micro_clm("streamed-clm", steps=2),
        {
            "recipe": "sft",
            "name": "streamed-sft",
            "dataset": "support",
            "base": str(base),
            "max_length": 96,
            "method": "lora",
            "training": steps,
        },
        {
            "recipe": "classify",
            "name": "streamed-cls",
            "dataset": "support",
            "base": str(base),
            "max_length": 32,
            "training": steps,
        },
    ]
    for recipe in recipes:
        out = start_training(catalog, parse_recipe(recipe))
        assert out.model is not None
        # the run's examples were only there to train (and resume) from
        assert not (catalog.run_dir(out.run_id) / streams.EXAMPLES_DIR).exists()
