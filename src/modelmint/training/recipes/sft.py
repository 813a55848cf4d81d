"""sft: supervised fine-tuning on chat data, rendered with the base model's own chat template
(saved again with the result, so serving renders conversations exactly as training did);
the loss counts assistant tokens only. Full fine-tuning or LoRA.

Packing puts several conversations in one row with position ids restarting at each, and no
padding; the attention masks are built from those position ids so that a conversation does
not attend to the one before it (transformers' packed-sequence support)."""

from __future__ import annotations

from typing import Any

from transformers import AutoModelForCausalLM, DataCollatorForSeq2Seq, DataCollatorWithFlattening

from modelmint.modeling import count_parameters, load_tokenizer
from modelmint.training.adapters import add_lora, trainable_parameters
from modelmint.training.examples import sft_rows
from modelmint.training.recipe import SFT, RecipeError
from modelmint.training.recipes.common import RecipeInputs, Trained, save_result, with_perplexity
from modelmint.training.trainer import TrainContext, build_trainer, train


def run(recipe: SFT, inputs: RecipeInputs, ctx: TrainContext, resume: bool) -> Trained:
    assert inputs.base_dir is not None
    tokenizer = load_tokenizer(inputs.base_dir)
    if not getattr(tokenizer, "chat_template", None):
        raise RecipeError(f"the base model at {inputs.base_dir} has no chat template")
    model: Any = AutoModelForCausalLM.from_pretrained(str(inputs.base_dir), local_files_only=True)
    total = count_parameters(model)
    max_length = min(recipe.max_length, model.config.max_position_embeddings)
    train_set = sft_rows(inputs.train, tokenizer, max_length)
    eval_set = sft_rows(inputs.validation, tokenizer, max_length) if inputs.validation else None
    if recipe.method == "lora":
        model = add_lora(model, recipe.lora, task="causal-lm")
    collator: Any = (
        DataCollatorWithFlattening(return_position_ids=True)
        if recipe.packing
        else DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    )
    t = recipe.training
    mean_tokens = sum(len(r["input_ids"]) for r in train_set.rows) / max(1, len(train_set))
    trainer = build_trainer(
        model,
        t,
        ctx,
        stage="sft",
        train_dataset=train_set,
        eval_dataset=eval_set,
        data_collator=collator,
        tokens_per_step=int(t.batch_size * t.grad_accum * mean_tokens),
    )
    metrics = with_perplexity(train(trainer, ctx, resume))
    out = ctx.run_dir / "model"
    save_result(trainer, tokenizer, out)  # a peft model saves the adapter only
    if recipe.method == "lora":
        return Trained(out, "adapter", total, trainable_parameters(model), metrics, "causal-lm")
    return Trained(out, "causal-lm", total, total, metrics)
