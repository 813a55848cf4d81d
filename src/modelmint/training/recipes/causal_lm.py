"""pretrain-clm and continue: causal-LM training on packed blocks of the dataset's text,
from a freshly built Llama-style model or from an existing checkpoint."""

from __future__ import annotations

from typing import Any

from transformers import AutoModelForCausalLM

from modelmint.modeling import (
    build_causal_lm,
    llama_config_for,
    load_tokenizer,
    resolve_preset,
)
from modelmint.training.recipe import ArchitectureSpec, ContinuePretrain, PretrainCLM
from modelmint.training.recipes.common import (
    RecipeInputs,
    Trained,
    check_block_size,
    tokenizer_for,
    train_on_blocks,
)
from modelmint.training.trainer import TrainContext


def fresh_model(arch: ArchitectureSpec, tokenizer: Any, seed: int) -> Any:
    """A Llama-style causal LM of this shape, sized for the tokenizer, initialized by seed."""
    shape = resolve_preset(arch.size, **arch.model_dump(exclude={"size"}))
    config = llama_config_for(shape, tokenizer)
    return build_causal_lm(config, seed=seed)


def run(
    recipe: PretrainCLM | ContinuePretrain, inputs: RecipeInputs, ctx: TrainContext, resume: bool
) -> Trained:
    if isinstance(recipe, ContinuePretrain):
        assert inputs.base_dir is not None
        tokenizer = load_tokenizer(inputs.base_dir)
        model = AutoModelForCausalLM.from_pretrained(str(inputs.base_dir), local_files_only=True)
    else:
        tokenizer = tokenizer_for(recipe.tokenizer, inputs, ctx)
        model = fresh_model(recipe.architecture, tokenizer, recipe.training.seed)
    check_block_size(recipe.block_size, model.config.max_position_embeddings)

    return train_on_blocks(
        recipe,
        model,
        tokenizer,
        inputs,
        ctx,
        resume,
        kind="causal-lm",
        labels=True,
        input=recipe.input,
    )
