"""The memory estimate that guards training runs."""

from __future__ import annotations

import pytest
from transformers import AutoModelForCausalLM

from modelmint.modeling import llama_config
from modelmint.training import RecipeError, estimate
from modelmint.training.adapters import add_lora
from modelmint.training.memory import GIB, check_fits
from modelmint.training.recipe import LoraSpec, TrainingSpec


def small_model() -> object:
    config = llama_config("small", vocab_size=8192, bos_token_id=0, eos_token_id=0, pad_token_id=3)
    return AutoModelForCausalLM.from_config(config)


def test_lora_and_checkpointing_cut_what_they_should() -> None:
    spec = TrainingSpec(batch_size=8)
    full = estimate(small_model(), spec, 512, bf16=True)
    p = 29_499_904  # small preset, 8,192-token vocabulary, tied embeddings
    assert full.weights == 4 * p and full.gradients == 4 * p and full.optimizer == 8 * p
    lora = estimate(add_lora(small_model(), LoraSpec(), "causal-lm"), spec, 512, bf16=True)
    assert lora.optimizer < full.optimizer / 10 and lora.gradients < full.gradients / 10
    ckpt = estimate(
        small_model(), TrainingSpec(batch_size=8, gradient_checkpointing=True), 512, True
    )
    assert ckpt.activations < full.activations / 3
    fp32 = estimate(small_model(), spec, 512, bf16=False)
    assert fp32.activations == 2 * full.activations


def test_a_run_that_cannot_fit_is_refused_with_a_batch_that_can() -> None:
    model = small_model()
    with pytest.raises(RecipeError) as e:
        check_fits(model, TrainingSpec(batch_size=100_000, grad_accum=2), 512, bf16=True)
    message = str(e.value)
    assert "GiB is free" in message and "training.gradient_checkpointing=true" in message
    fits = int(message.split("training.batch_size=")[1].split(" ")[0])
    accum = int(message.split("training.grad_accum=")[1].split(" ")[0])
    assert 1 <= fits < 100_000 and fits * accum >= 200_000  # same effective batch or more
    ok = estimate(model, TrainingSpec(batch_size=fits), 512, True)
    assert ok.total < estimate(model, TrainingSpec(batch_size=100_000), 512, True).total
    assert check_fits(model, TrainingSpec(batch_size=1), 64, True).total < 2 * GIB
