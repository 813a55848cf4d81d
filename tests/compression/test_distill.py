"""The distill recipe: a student learns the teacher's distributions (its KL to the teacher
falls), registered with the teacher in its lineage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from modelmint.catalog import Catalog, ModelRef
from modelmint.compression import prune
from modelmint.modeling import load_causal_lm, load_tokenizer
from modelmint.training import RecipeError, parse_recipe, start_training
from modelmint.training.recipe import ArchitectureSpec
from modelmint.training.recipes.causal_lm import fresh_model
from modelmint.training.recipes.distill import distillation_loss
from support.helpers import build_micro_model

STUDENT = {
    "hidden_size": 32,
    "num_layers": 1,
    "num_heads": 2,
    "intermediate_size": 64,
    "context_length": 128,
}


def distill_recipe(name: str, teacher: str, **student: Any) -> dict[str, Any]:
    return {
        "recipe": "distill",
        "name": name,
        "dataset": "support",
        "teacher": teacher,
        "block_size": 64,
        "training": {"max_steps": 25, "batch_size": 4, "warmup_steps": 2, "learning_rate": 3e-3},
        **student,
    }


def kl_to_teacher(teacher: Any, student: Any, tokenizer: Any, texts: list[str]) -> float:
    ids = tokenizer("\n".join(texts), return_tensors="pt")["input_ids"][:, :128]
    with torch.inference_mode():
        t, s = teacher(input_ids=ids).logits[0], student(input_ids=ids).logits[0]
    return float(
        torch.nn.functional.kl_div(
            s.log_softmax(-1), t.log_softmax(-1), log_target=True, reduction="batchmean"
        )
    )


def test_distillation_loss_is_the_tempered_kl_mixed_with_cross_entropy() -> None:
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 5, 11), torch.randn(2, 5, 11)
    labels = torch.randint(0, 11, (2, 5))
    labels[0, 3] = -100
    same, kl0, _ = distillation_loss(teacher, teacher, labels, temperature=2, hard_label_weight=0)
    assert float(same) == pytest.approx(0, abs=1e-6) and float(kl0) == pytest.approx(0, abs=1e-6)
    loss, kl, ce = distillation_loss(
        student, teacher, labels, temperature=2, hard_label_weight=0.25
    )
    keep = labels[:, 1:] != -100
    s, t = student[:, :-1][keep] / 2, teacher[:, :-1][keep] / 2
    expected_kl = (t.softmax(-1) * (t.log_softmax(-1) - s.log_softmax(-1))).sum(-1).mean() * 4
    assert float(kl) == pytest.approx(float(expected_kl), rel=1e-5)
    assert float(loss) == pytest.approx(0.75 * float(kl) + 0.25 * float(ce), rel=1e-6)


def test_a_fresh_student_learns_the_teacher(
    catalog: Catalog, base: ModelRef, validation_texts: list[str]
) -> None:
    outcome = start_training(
        catalog, parse_recipe(distill_recipe("student", base.label, architecture=STUDENT))
    )
    model = outcome.model
    assert model is not None and model.kind == "causal-lm"
    assert model.parent_id == base.id  # a student built fresh descends from its teacher
    assert catalog.lineage(model)["run"]["kind"] == "train:distill"
    facts = json.loads((model.path / "modelmint.json").read_text())
    assert facts["teacher"] == base.label and facts["recipe"] == "distill"
    assert model.num_parameters < base.num_parameters / 2
    assert model.metrics["perplexity"] > 1  # scored by its own next-token loss
    tokenizer = load_tokenizer(model.path)
    teacher = load_causal_lm(base.path)
    untrained = fresh_model(ArchitectureSpec(**STUDENT), tokenizer, seed=0)
    trained = load_causal_lm(model.path)
    before = kl_to_teacher(teacher, untrained, tokenizer, validation_texts)
    after = kl_to_teacher(teacher, trained, tokenizer, validation_texts)
    assert after < 0.5 * before


def test_a_pruned_student_recovers_towards_its_teacher(
    catalog: Catalog, base: ModelRef, validation_texts: list[str]
) -> None:
    pruned = prune(catalog, base, 0.75, structured=True, name="heal-me").model
    recipe = distill_recipe("healed", base.label, base=pruned.label, hard_label_weight=0.5)
    recipe["training"]["learning_rate"] = 1e-3
    outcome = start_training(catalog, parse_recipe(recipe))
    assert outcome.model is not None and outcome.model.parent_id == pruned.id
    tokenizer = load_tokenizer(base.path)
    teacher = load_causal_lm(base.path)
    before = kl_to_teacher(teacher, load_causal_lm(pruned.path), tokenizer, validation_texts)
    after = kl_to_teacher(teacher, load_causal_lm(outcome.model.path), tokenizer, validation_texts)
    assert after < before


def test_a_student_with_another_vocabulary_is_refused(
    catalog: Catalog, base: ModelRef, tmp_path: Path
) -> None:
    other = build_micro_model(tmp_path / "other")  # a 600-token vocabulary, not the teacher's
    recipe = parse_recipe(distill_recipe("mismatch", base.label, base=str(other)))
    with pytest.raises(RecipeError, match="vocabulary"):
        start_training(catalog, recipe)


def test_the_student_must_be_given_one_way() -> None:
    with pytest.raises(RecipeError, match="either 'base'"):
        parse_recipe(distill_recipe("s", "t"))
    with pytest.raises(RecipeError, match="either 'base'"):
        parse_recipe(distill_recipe("s", "t", base="x", architecture=STUDENT))
    with pytest.raises(RecipeError, match="did you mean 'temperature'"):
        parse_recipe({**distill_recipe("s", "t", base="x"), "temprature": 3})
