"""pretrain-mlm: a BERT-style masked LM from scratch. Of the tokens, ``mask_probability``
are chosen; of those 80% become the mask token, 10% a random token, 10% stay as they are.

The masks are drawn from a generator seeded by the batch's own token ids, not the global
one: the Trainer draws a batch ahead when it resumes, so globally drawn masks would differ
after a resume and the resumed run would not reach the same loss."""

from __future__ import annotations

from typing import Any

import torch
from transformers import BertForMaskedLM, DataCollatorForLanguageModeling

from modelmint.modeling import bert_config, resolve_preset
from modelmint.training.recipe import PretrainMLM, RecipeError
from modelmint.training.recipes.common import (
    RecipeInputs,
    Trained,
    check_block_size,
    tokenizer_for,
    train_on_blocks,
)
from modelmint.training.trainer import TrainContext


class ContentSeededMasking(DataCollatorForLanguageModeling):
    """80/10/10 masking whose randomness is a function of the batch and the seed only.

    The generator is made in ``torch_mask_tokens``, from the very ids being masked, and the
    parent gets no seed: a seeded parent keeps a generator of its own, which it re-creates
    whenever it decides to (transformers 5.x does per process), and that one would replace
    ours between batches."""

    def __init__(self, tokenizer: Any, mlm_probability: float, seed: int) -> None:
        super().__init__(tokenizer, mlm=True, mlm_probability=mlm_probability)
        self.base_seed = seed

    def torch_mask_tokens(
        self, inputs: Any, special_tokens_mask: Any | None = None, offset_mapping: Any | None = None
    ) -> tuple[Any, Any]:
        self.generator = torch.Generator().manual_seed(self.base_seed * 1_000_003 + _digest(inputs))
        return super().torch_mask_tokens(
            inputs, special_tokens_mask=special_tokens_mask, offset_mapping=offset_mapping
        )


def _digest(ids: torch.Tensor) -> int:
    """A position-weighted sum of the ids: equal batches give equal digests."""
    ids = ids.long()
    weights = torch.arange(1, ids.numel() + 1).view_as(ids)
    return int(torch.sum(ids * weights) % (2**61 - 1))


def run(recipe: PretrainMLM, inputs: RecipeInputs, ctx: TrainContext, resume: bool) -> Trained:
    tokenizer = tokenizer_for(recipe.tokenizer, inputs, ctx)
    if tokenizer.mask_token_id is None:
        raise RecipeError("the tokenizer has no mask token; train one with this recipe")
    arch = recipe.architecture
    shape = resolve_preset(arch.size, **arch.model_dump(exclude={"size"}))
    check_block_size(recipe.block_size, shape.context_length)
    torch.manual_seed(recipe.training.seed)
    model = BertForMaskedLM(
        bert_config(shape, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    )

    collator = ContentSeededMasking(tokenizer, recipe.mask_probability, recipe.training.seed)
    return train_on_blocks(
        recipe,
        model,
        tokenizer,
        inputs,
        ctx,
        resume,
        kind="masked-lm",
        labels=False,
        collator=collator,
    )
