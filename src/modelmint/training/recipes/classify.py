"""classify: sequence classification (intent, sentiment...) on one label of the dataset,
from the bundled pretrained MiniLM encoder, one of our checkpoints (masked or causal LM), or
a directory. Full fine-tuning or LoRA; the best checkpoint by validation accuracy is kept."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

from modelmint.modeling import classifier_text, count_parameters, load_tokenizer
from modelmint.training.adapters import add_lora, trainable_parameters
from modelmint.training.examples import classification_examples
from modelmint.training.recipe import Classify, RecipeError
from modelmint.training.recipes.common import RecipeInputs, Trained, examples_path, save_result
from modelmint.training.streams import MappedExamples, SplitStream, example_file
from modelmint.training.trainer import TrainContext, build_trainer, train
from modelmint.training.vocabulary import extend_vocabulary

# What ``classifier_text`` and the label read of each record.
_READS = ("id", "text", "messages", "labels")


def accuracy_and_f1(pred: Any) -> dict[str, float]:
    logits, labels = pred
    guess = np.argmax(logits, axis=-1)
    f1s = []
    for c in np.unique(labels):
        tp = np.sum((guess == c) & (labels == c))
        precision = tp / max(1, np.sum(guess == c))
        recall = tp / max(1, np.sum(labels == c))
        f1s.append(0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
    return {"accuracy": float(np.mean(guess == labels)), "macro_f1": float(np.mean(f1s))}


def run(recipe: Classify, inputs: RecipeInputs, ctx: TrainContext, resume: bool) -> Trained:
    assert inputs.base_dir is not None
    tokenizer = load_tokenizer(inputs.base_dir)
    found = ((r.get("labels") or {}).get(recipe.label) for r in inputs.train.records(["labels"]))
    values = sorted({str(v) for v in found if v is not None})
    if not values:
        names = sorted({k for r in inputs.train.records(["labels"]) for k in r.get("labels") or {}})
        raise RecipeError(
            f"the dataset has no label {recipe.label!r} (its labels: {names or 'none'}); "
            "set 'label' in the recipe to one of them"
        )
    if len(values) < 2:
        raise RecipeError(
            f"the training split has {len(values)} value(s) of label {recipe.label!r}; "
            "classification needs at least two"
        )
    label_ids = {v: i for i, v in enumerate(values)}
    model: Any = AutoModelForSequenceClassification.from_pretrained(
        str(inputs.base_dir),
        local_files_only=True,
        num_labels=len(values),
        id2label=dict(enumerate(values)),
        label2id=label_ids,
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    vocab: dict[str, float] = {}
    if recipe.extend_vocabulary:
        texts = (classifier_text(r, recipe.input) for r in inputs.train.records(_READS))
        vocab = extend_vocabulary(tokenizer, model, texts)
    total = count_parameters(model)

    def rows(split: SplitStream) -> MappedExamples:
        examples = classification_examples(
            split.batches(_READS),
            tokenizer,
            recipe.label,
            label_ids,
            recipe.max_length,
            lambda r: classifier_text(r, recipe.input),
        )
        how = (
            f"classify|{recipe.label}|{values}|{recipe.input}|{recipe.max_length}|{len(tokenizer)}"
        )
        return example_file(examples_path(ctx, split, "classify"), split.key(how), examples)

    if recipe.method == "lora":
        if vocab.get("vocab_added_tokens"):
            raise RecipeError(
                "LoRA freezes the embeddings, so characters added to the vocabulary would never "
                "be learned: use method: full, or set extend_vocabulary: false"
            )
        model = add_lora(model, recipe.lora, task="classifier")
    t = recipe.training
    trainer = build_trainer(
        model,
        t,
        ctx,
        stage="classify",
        train_dataset=rows(inputs.train),
        eval_dataset=rows(inputs.validation) if inputs.validation is not None else None,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=accuracy_and_f1,
        best_metric="eval_accuracy",
    )
    metrics = {**train(trainer, ctx, resume), **vocab}
    out = ctx.run_dir / "model"
    labels = json.dumps({"label": recipe.label, "classes": values}, ensure_ascii=False)
    save_result(trainer, tokenizer, out, {"labels.json": labels})
    if recipe.method == "lora":
        return Trained(out, "adapter", total, trainable_parameters(model), metrics, "classifier")
    return Trained(out, "classifier", total, total, metrics)
