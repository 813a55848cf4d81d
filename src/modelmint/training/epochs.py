"""The training set as the Trainer reads it, epoch by epoch, so that each example is trained
exactly once per epoch however many processes share the work.

accelerate deals a run's batches out to its processes, and every process must step as often
as the others: DDP's gradient all-reduce waits for all of them. Where the last global batch
is short, accelerate fills it with the epoch's first examples again (``even_batches``), and
those get a second gradient that epoch: 10 examples in batches of 4 on 2 processes trained
16, 6 of them twice. Its alternative, ``even_batches=False``, gives a process fewer batches
than another, or none at the last step, and the others then wait for it in the all-reduce.

So the Trainer reads this dataset in order (``train_sampling_strategy="sequential"``). It
holds an epoch's examples in the seeded order that the Trainer's own sampler drew (one
process sees the batches it saw before), and where the last global batch is short, fills it
with padding rows: copies of that batch's examples whose labels are all ignored. Every
process gets a whole batch at every step, no example comes twice, and a padding row carries
no loss. The last global batch's examples are dealt round the processes, so a process's
batch is padding only when fewer examples are left than there are processes.

A loss that the Trainer normalises by its count of labels across the processes
(``num_items_in_batch``: the causal LMs, SFT) comes out as one process's over the same
examples: padding adds nothing to the sum or to the count. A loss averaged within each batch
(masked LM, classification, distillation) is averaged over the processes by DDP, as it always
is, so the last step weighs a process's examples by its share of them; a batch of padding
only contributes a zero there (``padding_only``).

One process pads too when every batch must have one shape (a compiled forward would compile
again for the short one); otherwise its short last batch is left short."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from modelmint.training.examples import IGNORE

Collator = Callable[[list[dict[str, Any]]], Any]


class WholeBatches(torch.utils.data.Dataset[dict[str, Any]]):
    """``examples`` in the order of an epoch (``set_epoch``): a permutation seeded by
    ``seed`` plus the epoch, the one the Trainer's seedable sampler draws, and with ``pad``,
    padding rows up to a whole number of global batches (``batch_size`` x ``processes``)."""

    def __init__(
        self, examples: Any, *, batch_size: int, processes: int, seed: int, pad: bool
    ) -> None:
        self.examples, self.batch_size, self.processes = examples, batch_size, processes
        self.seed = seed
        n = len(examples)
        left = n % (batch_size * processes) if pad else 0
        self.whole = n - left  # examples before the short last global batch, if any
        self.length = n + (batch_size * processes - left if left else 0)
        self.epoch = -1
        self.order = torch.empty(0, dtype=torch.int64)
        self.set_epoch(0)

    @property
    def pads(self) -> bool:
        return self.length > len(self.examples)

    @property
    def labeled(self) -> bool:
        """Whether the examples hold their labels (else the collator makes them)."""
        return len(self.examples) > 0 and "labels" in self.examples[0]

    def set_epoch(self, epoch: int) -> None:
        """Called by accelerate's data loader before each pass over the data."""
        if epoch != self.epoch:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            self.order = torch.randperm(len(self.examples), generator=generator)
            self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not 0 <= i < self.length:
            raise IndexError(i)
        if i < self.whole:
            example: dict[str, Any] = self.examples[int(self.order[i])]
            return example
        # accelerate gives process p the p-th batch of every global batch; dealt round, the
        # last one's examples leave no process more than one more of them than another
        process, slot = divmod(i - self.whole, self.batch_size)
        dealt = slot * self.processes + process
        left = len(self.examples) - self.whole
        example = self.examples[int(self.order[self.whole + dealt % left])]
        return example if dealt < left else padding_row(example)


def padding_row(example: dict[str, Any]) -> dict[str, Any]:
    """``example`` with every label ignored. An example without labels gets an ignored one,
    which tells the collator the row is padding: the Trainer passes a collator only the
    columns the model takes, and ``labels`` is the one among them that every model has."""
    labels = example.get("labels")
    ignored: Any
    if isinstance(labels, torch.Tensor):
        ignored = torch.full_like(labels, IGNORE)
    elif isinstance(labels, Sequence):
        ignored = [IGNORE] * len(labels)
    else:  # a class, or no labels at all
        ignored = IGNORE
    return {**example, "labels": ignored}


def is_padding(example: dict[str, Any]) -> bool:
    """Whether a row has labels none of which the loss counts: a padding row (a real one
    like that would carry no loss either)."""
    labels = example.get("labels")
    if labels is None:
        return False
    return not bool((torch.as_tensor(labels) != IGNORE).any())


class PaddingIgnored:
    """The recipe's collator, over rows some of which may be padding. A collator that makes
    the labels itself (masked LM) gets padding rows as the dataset's rows, without the label
    that marked them, and their labels in the batch are then ignored."""

    def __init__(self, collate: Collator, *, makes_labels: bool) -> None:
        self.collate, self.makes_labels = collate, makes_labels
        # the Trainer saves a collator's tokenizer with each checkpoint
        self.tokenizer = getattr(collate, "tokenizer", None)

    def __call__(self, rows: list[dict[str, Any]]) -> Any:
        padding = [is_padding(r) for r in rows]
        if not any(padding):
            return self.collate(rows)
        if self.makes_labels:
            rows = [
                {k: v for k, v in r.items() if k != "labels"} if pad else r
                for r, pad in zip(rows, padding, strict=True)
            ]
        batch = self.collate(rows)
        labels = batch.get("labels")
        if isinstance(labels, torch.Tensor) and len(labels) == len(rows):
            labels[torch.tensor(padding)] = IGNORE
        return batch


def padding_only(inputs: dict[str, Any]) -> bool:
    """A batch with no label that the loss counts: one process's share of a last global
    batch with fewer examples than processes. A loss averaged over its labels is 0/0 there."""
    labels = inputs.get("labels")
    return isinstance(labels, torch.Tensor) and not bool((labels != IGNORE).any())


def with_one_label(inputs: dict[str, Any]) -> dict[str, Any]:
    """``inputs`` with the last label counted (class or token 0), so that a loss averaged
    over the labels is finite."""
    labels = inputs["labels"].clone()
    labels.view(-1)[-1] = 0
    return {**inputs, "labels": labels}
