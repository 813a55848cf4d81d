"""The training set's epochs under accelerate's own sharding of a data loader's batches,
without starting processes: whole batches, each process as many, each example once per
epoch; and padding rows that carry no label through the collators."""

from __future__ import annotations

import pytest
import torch
from accelerate.data_loader import BatchSamplerShard, SeedableRandomSampler
from torch.utils.data import BatchSampler, SequentialSampler
from transformers import default_data_collator

from modelmint.training.epochs import (
    PaddingIgnored,
    WholeBatches,
    is_padding,
    padding_only,
    padding_row,
)
from modelmint.training.examples import IGNORE


def examples(n: int) -> list[dict[str, torch.Tensor]]:
    return [{"input_ids": torch.tensor([i, i]), "labels": torch.tensor([i, i])} for i in range(n)]


@pytest.mark.parametrize("n", [1, 3, 8, 10, 13, 16, 33])
@pytest.mark.parametrize(("batch", "processes"), [(4, 2), (1, 2), (3, 4), (4, 1)])
def test_each_process_gets_whole_batches_and_each_example_comes_once(
    n: int, batch: int, processes: int
) -> None:
    data = WholeBatches(examples(n), batch_size=batch, processes=processes, seed=7, pad=True)
    orders = []
    for epoch in range(2):
        data.set_epoch(epoch)
        shards = [
            list(
                BatchSamplerShard(BatchSampler(SequentialSampler(data), batch, False), processes, p)
            )
            for p in range(processes)
        ]
        assert len({len(shard) for shard in shards}) == 1  # every process steps as often
        assert all(len(b) == batch for shard in shards for b in shard)
        rows = [data[i] for shard in shards for b in shard for i in b]
        trained = [int(r["input_ids"][0]) for r in rows if not is_padding(r)]
        assert sorted(trained) == list(range(n))
        # the last global batch's examples are dealt round: no process gets two more
        last = [sum(not is_padding(data[i]) for i in shard[-1]) for shard in shards]
        assert max(last) - min(last) <= 1
        orders.append(trained)
    assert n < 8 or orders[0] != orders[1]  # shuffled anew


def test_one_process_reads_the_order_the_trainers_sampler_drew() -> None:
    """Unpadded, one process trains the batches that the Trainer's seeded sampler made."""
    data = WholeBatches(examples(10), batch_size=4, processes=1, seed=7, pad=False)
    sampler = SeedableRandomSampler(range(10), data_seed=7)
    for epoch in range(3):
        data.set_epoch(epoch)
        sampler.set_epoch(epoch)
        assert len(data) == 10
        assert [int(data[i]["input_ids"][0]) for i in range(len(data))] == list(sampler)


def test_padding_rows_carry_no_label_through_the_collator() -> None:
    def masking(rows: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Makes the labels from the inputs, as a masked LM's collator does."""
        assert all("labels" not in r for r in rows)
        ids = torch.stack([r["input_ids"] for r in rows])
        return {"input_ids": ids, "labels": ids.clone()}

    makes_labels = PaddingIgnored(masking, makes_labels=True)
    real, pad = (
        {"input_ids": torch.tensor([1, 2])},
        padding_row({"input_ids": torch.tensor([3, 4])}),
    )
    batch = makes_labels([real, pad])
    assert batch["labels"].tolist() == [[1, 2], [IGNORE, IGNORE]]
    assert not padding_only(batch)
    assert padding_only(makes_labels([pad]))

    classes = PaddingIgnored(default_data_collator, makes_labels=False)
    rows = [{"input_ids": [1, 2], "labels": 3}, padding_row({"input_ids": [4, 5], "labels": 1})]
    assert classes(rows)["labels"].tolist() == [3, IGNORE]
    tokens = [
        {"input_ids": [1, 2], "labels": [1, 2]},
        padding_row({"input_ids": [4], "labels": [4]}),
    ]
    assert padding_row(tokens[0])["labels"] == [IGNORE, IGNORE] and is_padding(tokens[1])
