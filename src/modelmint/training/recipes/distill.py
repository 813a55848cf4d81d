"""distill: a smaller student learns a teacher's next-token distributions on the same packed
blocks of text that pretraining uses (Hinton et al. 2015): the loss is the KL divergence
between the teacher's and the student's softened distributions, times T^2 so its gradients
keep their scale as the temperature T changes, mixed with the ordinary next-token loss by
``hard_label_weight``.

Evaluation scores the student by its own next-token loss, so its perplexity means what it
means for every other causal LM and the best checkpoint is the best language model."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, Trainer

from modelmint.modeling import load_causal_lm, load_tokenizer
from modelmint.modeling.quantized import is_int8_dir
from modelmint.training.examples import IGNORE
from modelmint.training.recipe import Distill, RecipeError
from modelmint.training.recipes.causal_lm import fresh_model
from modelmint.training.recipes.common import (
    RecipeInputs,
    Trained,
    check_block_size,
    train_on_blocks,
)
from modelmint.training.trainer import TrainContext


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    temperature: float,
    hard_label_weight: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, KL, cross-entropy) over the positions that predict a label: logits at position
    i are scored against the label at i + 1, as a causal LM's own loss does."""
    targets = labels[:, 1:]
    valid = targets != IGNORE
    student = student_logits[:, :-1][valid].float()
    teacher = teacher_logits[:, :-1][valid].float()
    ce = F.cross_entropy(student, targets[valid])
    kl = F.kl_div(
        F.log_softmax(student / temperature, dim=-1),
        F.log_softmax(teacher / temperature, dim=-1),
        log_target=True,
        reduction="batchmean",
    ) * (temperature**2)
    return (1 - hard_label_weight) * kl + hard_label_weight * ce, kl, ce


class DistillationTrainer(Trainer):
    loss_is_scaled_for_ga = False  # a mean per batch: the Trainer divides by accumulation

    def __init__(
        self, *args: Any, teacher: Any, temperature: float, hard_label_weight: float, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.teacher = teacher.to(self.args.device).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.temperature, self.hard_label_weight = temperature, hard_label_weight

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        labels = inputs["labels"]
        features = {k: v for k, v in inputs.items() if k != "labels"}
        outputs = model(**features)
        if not model.training:
            ce = distillation_loss(
                outputs.logits, outputs.logits, labels, temperature=1.0, hard_label_weight=1.0
            )[2]
            return (ce, outputs) if return_outputs else ce
        with torch.no_grad():
            teacher_logits = self.teacher(**features).logits
        loss, _, _ = distillation_loss(
            outputs.logits,
            teacher_logits,
            labels,
            temperature=self.temperature,
            hard_label_weight=self.hard_label_weight,
        )
        return (loss, outputs) if return_outputs else loss


def _student(recipe: Distill, inputs: RecipeInputs, tokenizer: Any, teacher: Any) -> Any:
    if inputs.base_dir is None:
        assert recipe.architecture is not None
        return fresh_model(recipe.architecture, tokenizer, recipe.training.seed)
    if is_int8_dir(inputs.base_dir):
        raise RecipeError(
            f"the student {recipe.base} is an int8 model, which cannot be trained; "
            "start from its float parent, or from a pruned version"
        )
    student = AutoModelForCausalLM.from_pretrained(str(inputs.base_dir), local_files_only=True)
    if student.config.vocab_size != teacher.config.vocab_size:
        raise RecipeError(
            f"the student's vocabulary ({student.config.vocab_size} tokens) differs from the "
            f"teacher's ({teacher.config.vocab_size}); distillation compares their logits "
            "token by token, so both need the teacher's tokenizer"
        )
    return student


def run(recipe: Distill, inputs: RecipeInputs, ctx: TrainContext, resume: bool) -> Trained:
    assert inputs.teacher_dir is not None
    tokenizer = load_tokenizer(inputs.teacher_dir)
    teacher = load_causal_lm(inputs.teacher_dir)
    student = _student(recipe, inputs, tokenizer, teacher)
    context = min(teacher.config.max_position_embeddings, student.config.max_position_embeddings)
    check_block_size(recipe.block_size, context)

    def trainer_class(*args: Any, **kw: Any) -> Trainer:
        return DistillationTrainer(
            *args,
            teacher=teacher,
            temperature=recipe.temperature,
            hard_label_weight=recipe.hard_label_weight,
            **kw,
        )

    return train_on_blocks(
        recipe,
        student,
        tokenizer,
        inputs,
        ctx,
        resume,
        kind="causal-lm",
        labels=True,
        trainer_class=trainer_class,
    )
