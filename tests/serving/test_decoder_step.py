"""The written-out decoding step against the Hugging Face layers it stands in for, on a plain
Llama (every family's own switches: test_decoder_step_families.py)."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from modelmint.compression.quantize import quantize_int8_dynamic
from modelmint.serving.models import ModelRunner, RowInput, supports
from modelmint.serving.models.model_runner import KVDtypeUnsupported
from support.serving import tiny_llama


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_steps_equal_the_hugging_face_layers(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = tiny_llama().to(dtype)
    fast = ModelRunner(copy.deepcopy(model), slots=3, dtype=dtype)
    reference = ModelRunner(model, slots=3, dtype=dtype)
    assert fast.decoder is not None
    reference.decoder = None  # every step through the model's own layers
    prompts = [[3, 4, 5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]
    for runner in (fast, reference):
        runner.forward(0, [RowInput(p, 0) for p in prompts])
    lengths = [len(p) for p in prompts]
    tokens = [20, 21, 22]
    for _ in range(6):  # rows at different positions, growing
        rows = [RowInput([t], n) for t, n in zip(tokens, lengths, strict=True)]
        got, expected = fast.forward(0, rows), reference.forward(0, rows)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
        tokens = [int(t) for t in expected.argmax(-1)]
        lengths = [n + 1 for n in lengths]
    # the keys and values it wrote are the ones the layers wrote
    for mine, theirs in zip(fast.cache.keys, reference.cache.keys, strict=True):
        torch.testing.assert_close(mine[:3, :, :13], theirs[:3, :, :13])


def test_only_configurations_it_covers() -> None:
    assert supports(tiny_llama())
    # biases and the activation are the model's own modules, called as they are
    assert supports(tiny_llama(attention_bias=True, mlp_bias=True, hidden_act="gelu"))
    dynamic = {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0}
    assert not supports(tiny_llama(rope_parameters=dynamic))  # recomputed per length
    assert not supports(tiny_llama(pretraining_tp=2))
    assert not supports(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2)))


def _assert_step_equals_the_layers(model: torch.nn.Module) -> None:
    """A decoding step of two rows, written out and through the model's own layers."""
    fast = ModelRunner(copy.deepcopy(model), slots=2, dtype=torch.float32)
    reference = ModelRunner(model, slots=2, dtype=torch.float32)
    assert fast.decoder is not None
    reference.decoder = None
    prompts = [[3, 4, 5, 6], [7, 8]]
    for runner in (fast, reference):
        runner.forward(0, [RowInput(p, 0) for p in prompts])
    rows = [RowInput([9], 4), RowInput([10], 2)]
    torch.testing.assert_close(fast.forward(0, rows), reference.forward(0, rows))


def test_biases_and_another_activation_equal_the_layers() -> None:
    torch.manual_seed(0)
    model = tiny_llama(attention_bias=True, mlp_bias=True, hidden_act="gelu")
    for name, p in model.named_parameters():
        if name.endswith("bias"):  # zeros at initialisation: make them count
            torch.nn.init.normal_(p, std=0.5)
    _assert_step_equals_the_layers(model)


@pytest.mark.parametrize("output_layer", [True, False])
def test_int8_layers_are_stacked_like_the_float_ones(output_layer: bool) -> None:
    torch.manual_seed(0)
    model = quantize_int8_dynamic(tiny_llama(), output_layer=output_layer)
    _assert_step_equals_the_layers(model)


def test_a_bfloat16_cache_beside_float32_weights_stays_within_its_rounding() -> None:
    """Keys and values rounded to bfloat16 (8 significant bits) as they are stored: a step's
    logits move by about that rounding, no more, and the greedy tokens stay the same."""
    torch.manual_seed(0)
    model = tiny_llama(max_position_embeddings=128)
    narrow = ModelRunner(
        copy.deepcopy(model), slots=3, dtype=torch.float32, kv_dtype=torch.bfloat16
    )
    exact = ModelRunner(model, slots=3, dtype=torch.float32)
    assert narrow.cache.keys[0].dtype == torch.bfloat16
    assert narrow.cache.nbytes * 2 == exact.cache.nbytes
    prompts = [list(range(3, 40)), [10, 11], list(range(12, 30))]
    got = narrow.forward(0, [RowInput(p, 0) for p in prompts])
    expected = exact.forward(0, [RowInput(p, 0) for p in prompts])
    lengths = [len(p) for p in prompts]
    for _ in range(8):
        scale = float(expected.abs().max())
        assert float((got - expected).abs().max()) <= 4 * 2**-8 * scale
        assert got.argmax(-1).tolist() == expected.argmax(-1).tolist()
        tokens = expected.argmax(-1).tolist()
        rows = [RowInput([t], n) for t, n in zip(tokens, lengths, strict=True)]
        got, expected = narrow.forward(0, rows), exact.forward(0, rows)
        lengths = [n + 1 for n in lengths]


def test_a_bfloat16_cache_needs_the_written_out_step() -> None:
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2))
    with pytest.raises(KVDtypeUnsupported, match="gpt2"):
        ModelRunner(model, slots=1, dtype=torch.float32, kv_dtype=torch.bfloat16)
