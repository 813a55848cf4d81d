"""The written-out decoding step on every open-weight family, against that family's own
Hugging Face model: logits in float32, bfloat16 and with int8 weights, and greedy answers
through the serving engine.

Each checkpoint is the family as published, tiny (tests/support/open_weights.py), with its
peculiarities on: a sliding window of 8, which every prompt here passes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import PreTrainedModel

from modelmint.compression.quantize import quantize_int8_dynamic
from modelmint.modeling import load_causal_lm
from modelmint.modeling.quantized import quantized_linears, save_int8
from modelmint.serving import Engine, EngineConfig, SamplingParams
from modelmint.serving.kernels import decode_attention
from modelmint.serving.kernels.int8_linear import Int8Linear
from modelmint.serving.models import ModelRunner, RowInput
from support.open_weights import FAMILIES, WINDOW, build_checkpoint

PROMPT_LENGTHS = (23, 9, 30)  # rows at different lengths, two past the window
STEPS = 6

Checkpoint = Callable[[str], Path]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Checkpoint:
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_checkpoint(name, tmp_path_factory.mktemp(name))
        return built[name]

    return get


def _prompts() -> list[list[int]]:
    g = torch.Generator().manual_seed(0)
    return [torch.randint(10, 600, (n,), generator=g).tolist() for n in PROMPT_LENGTHS]


def _last_logits(model: PreTrainedModel, sequences: list[list[int]]) -> torch.Tensor:
    """The model's own forward over each whole sequence, alone: no cache, no padding."""
    with torch.inference_mode():
        return torch.stack([model(input_ids=torch.tensor([s])).logits[0, -1] for s in sequences])


def _decoded(
    runner: ModelRunner, reference: PreTrainedModel
) -> Iterator[tuple[torch.Tensor, torch.Tensor, list[list[int]]]]:
    """Prefills every prompt, then decodes :data:`STEPS` greedy tokens per row (the
    reference's choices); yields each step's decoding logits, the reference's forward
    logits over the same sequences, and the sequences."""
    sequences = _prompts()
    assert sum(len(s) > WINDOW for s in sequences) >= 2
    runner.forward(0, [RowInput(s, 0) for s in sequences])
    expected = _last_logits(reference, sequences).float()
    for _ in range(STEPS):
        tokens = [int(t) for t in expected.argmax(-1)]
        rows = [RowInput([t], len(s)) for t, s in zip(tokens, sequences, strict=True)]
        for s, t in zip(sequences, tokens, strict=True):
            s.append(t)
        got = runner.forward(0, rows)
        expected = _last_logits(reference, sequences).float()
        yield got, expected, sequences


def _step_differences(runner: ModelRunner, reference: PreTrainedModel) -> tuple[float, float]:
    """The largest difference between the runner's decoding logits and the reference's
    forward logits, and the largest reference logit."""
    worst = scale = 0.0
    for got, expected, _ in _decoded(runner, reference):
        worst = max(worst, float((got - expected).abs().max()))
        scale = max(scale, float(expected.abs().max()))
    return worst, scale


def _errors(
    runner: ModelRunner, exact: PreTrainedModel, in_bf16: PreTrainedModel
) -> tuple[float, float]:
    """The largest distance to ``exact``'s float32 logits, over the same prefill and
    decoding steps, of the runner's steps and of ``in_bf16``'s forward."""
    step_error = model_error = 0.0
    for got, truth, sequences in _decoded(runner, exact):
        step_error = max(step_error, float((got - truth).abs().max()))
        theirs = _last_logits(in_bf16, sequences).float()
        model_error = max(model_error, float((theirs - truth).abs().max()))
    return step_error, model_error


@pytest.mark.parametrize("family", list(FAMILIES))
def test_float32_steps_equal_the_family_model(checkpoint: Checkpoint, family: str) -> None:
    path = checkpoint(family)
    runner = ModelRunner(load_causal_lm(path), slots=4, dtype=torch.float32)
    assert runner.decoder is not None, f"{family} falls back to the Hugging Face layers"
    worst, _ = _step_differences(runner, load_causal_lm(path))
    assert worst <= 1e-5, f"{family}: {worst}"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_prompts_read_in_chunks_beside_decoding_rows_equal_the_family_model(
    checkpoint: Checkpoint, family: str
) -> None:
    """A step as the engine runs it: decoding rows first, then chunks of prompts still being
    read, some ending past the window, all through the products together."""
    path = checkpoint(family)
    runner = ModelRunner(load_causal_lm(path), slots=4, dtype=torch.float32)
    reference = load_causal_lm(path)
    s0, s1, s2 = _prompts()  # 23, 9 and 30 tokens
    sequences = [s0, s1, s2]
    # (tokens from each sequence this step, by slot; -1: decode one token)
    steps = [
        {0: (0, 23)},
        {0: -1, 1: (0, 5)},
        {0: -1, 1: (5, 9), 2: (0, 12)},
        {0: -1, 1: -1, 2: (12, 30)},
        {0: -1, 1: -1, 2: -1},
        {0: -1, 1: -1, 2: -1},
    ]
    for step in steps:
        rows, wanted, ended = [], [], []
        for slot, plan in step.items():
            seq = sequences[slot]
            if plan == -1:
                rows.append(RowInput([seq[-1]], len(seq) - 1))
            else:
                rows.append(RowInput(seq[plan[0] : plan[1]], plan[0]))
            if plan == -1 or plan[1] == len(seq):
                wanted.append(len(rows) - 1)
                ended.append(slot)
        got = runner.forward(0, rows, wanted)
        expected = _last_logits(reference, [sequences[slot] for slot in ended]).float()
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
        for slot, token in zip(ended, expected.argmax(-1).tolist(), strict=True):
            sequences[slot].append(token)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_bfloat16_steps_stay_within_rounding_of_the_family_model(
    checkpoint: Checkpoint, family: str
) -> None:
    path = checkpoint(family)
    runner = ModelRunner(load_causal_lm(path).to(torch.bfloat16), slots=4, dtype=torch.bfloat16)
    assert runner.decoder is not None
    worst, scale = _step_differences(runner, load_causal_lm(path).to(torch.bfloat16))
    # bfloat16 keeps 8 significant bits: each rounding of a value near the largest logit
    # moves it by up to 2**-8 of it. The two sides round differently (a decoding step
    # attends to cached keys, the forward to freshly computed ones; the C kernel
    # accumulates in float32 where Gemma 2's eager attention multiplies in bfloat16).
    # Measured: the step is up to 0.039 from the forward at logits up to 4.3 (1.4% of the
    # largest), and the model's own cached decoding up to 0.02 from its forward. Eight
    # roundings at the largest logit (3%) bounds rounding only: the float32 test is the
    # one that tells a missed switch (a missed attention soft-cap alone moves them 0.04).
    assert worst <= 8 * 2**-8 * scale, f"{family}: {worst} at logits up to {scale}"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_bfloat16_steps_are_as_close_to_float32_as_the_family_model_in_bfloat16(
    checkpoint: Checkpoint, family: str
) -> None:
    """The measure that matters in bfloat16: how far from the float32 answer it lands. The
    written-out step may round differently from Hugging Face's bfloat16 forward, but not
    worse: its largest distance to the float32 forward stays within that of the model's
    own bfloat16 forward, over the same prefill and decoding steps."""
    path = checkpoint(family)
    runner = ModelRunner(load_causal_lm(path).to(torch.bfloat16), slots=4, dtype=torch.bfloat16)
    assert runner.decoder is not None
    exact = load_causal_lm(path)
    step_error, model_error = _errors(runner, exact, load_causal_lm(path).to(torch.bfloat16))
    # measured 0.82x to 1.10x over the families; the largest of 3 rows x 6 steps of
    # rounding is itself noisy, hence 1.5x
    assert step_error <= 1.5 * model_error, f"{family}: {step_error} vs {model_error}"


@pytest.mark.parametrize("family", ["mistral", "gemma2", "gemma3"])
def test_without_the_c_library_the_torch_attention_keeps_window_and_cap(
    checkpoint: Checkpoint, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decode_attention, "_library", lambda: None)  # as with no compiler
    assert not decode_attention.kernel_available()
    path = checkpoint(family)
    runner = ModelRunner(load_causal_lm(path), slots=4, dtype=torch.float32)
    assert runner.decoder is not None
    worst, _ = _step_differences(runner, load_causal_lm(path))
    assert worst <= 1e-5, f"{family}: {worst}"


def _int8_checkpoint(path: Path, out: Path) -> Path:
    model = quantize_int8_dynamic(load_causal_lm(path))
    save_int8(model, out, {"method": "int8-dynamic"})
    return out


def _dequantized(path: Path) -> PreTrainedModel:
    """An int8 checkpoint as a float model: each int8 layer a ``nn.Linear`` whose weights
    are the stored integers times their scales."""
    model = load_causal_lm(path)
    for name, layer in quantized_linears(model).items():
        weight, bias = layer.weight(), layer.bias()
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
        linear.weight.data = weight.dequantize()
        if bias is not None:
            linear.bias.data = bias.detach()
        parent, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, attr, linear)
    return model


@pytest.mark.parametrize("family", list(FAMILIES))
def test_int8_steps_equal_the_model_with_its_weights_dequantized(
    checkpoint: Checkpoint, family: str, tmp_path: Path
) -> None:
    """Served int8 multiplies float activations by the stored integers: the integers and
    their scales are the whole of the quantization, so every step equals the float model
    whose weights are their products, whatever rows share the step."""
    path = _int8_checkpoint(checkpoint(family), tmp_path / "int8")
    runner = ModelRunner(load_causal_lm(path), slots=4, dtype=torch.float32)
    assert runner.decoder is not None and not quantized_linears(runner.model)
    assert sum(isinstance(m, Int8Linear) for m in runner.model.modules()) >= 7
    worst, scale = _step_differences(runner, _dequantized(path))
    assert worst <= 1e-5 * max(1.0, scale), f"{family}: {worst} at logits up to {scale}"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_int8_steps_in_bfloat16_are_as_close_as_the_dequantized_model_in_bfloat16(
    checkpoint: Checkpoint, family: str, tmp_path: Path
) -> None:
    """With bfloat16 activations (the default where the CPU has bfloat16 instructions) the
    int8 step lands no further from the float32 answer than the dequantized model computed
    in bfloat16 does."""
    path = _int8_checkpoint(checkpoint(family), tmp_path / "int8")
    runner = ModelRunner(load_causal_lm(path).to(torch.bfloat16), slots=4, dtype=torch.bfloat16)
    assert runner.decoder is not None
    exact = _dequantized(path)
    step_error, model_error = _errors(runner, exact, _dequantized(path).to(torch.bfloat16))
    # the int8 step rounds less than the bfloat16 model: its weights are exact integers
    # and only the scaled sums round, where the bfloat16 model rounds every weight too
    assert step_error <= 1.5 * model_error, f"{family}: {step_error} vs {model_error}"


async def _answers(engine: Engine, prompts: list[list[int]], n: int) -> list[list[int]]:
    params = SamplingParams(max_tokens=n, temperature=0, logprobs=0)

    async def one(ids: list[int]) -> list[int]:
        return [lp.token_id async for d in engine.stream(ids, params) for lp in d.logprobs]

    return list(await asyncio.gather(*[one(p) for p in prompts]))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_engine_greedy_equals_generate(checkpoint: Checkpoint, family: str) -> None:
    path = checkpoint(family)
    engine = Engine.load(path, config=EngineConfig(slots=4, dtype="float32"))
    try:
        assert engine.runner.decoder is not None
        texts = [
            "Where is my order? I paid for express shipping last week and nothing came.",
            "您好，我想退款，因为包裹到了以后发现里面的东西坏了。",
            "Invoice for the second quarter, please, with the corrected address on it.",
        ]
        prompts = [engine.codec.encode(t) for t in texts]
        assert min(map(len, prompts)) > WINDOW + 12
        n = 16
        answers = asyncio.run(_answers(engine, prompts, n))
        model = load_causal_lm(path)
        stop = sorted(engine.codec.stop_ids)
        for ids, answer in zip(prompts, answers, strict=True):
            with torch.no_grad():
                out = model.generate(
                    torch.tensor([ids]),
                    max_new_tokens=n,
                    do_sample=False,
                    eos_token_id=stop,
                    pad_token_id=stop[0],
                )
            assert answer == out[0, len(ids) :].tolist()
    finally:
        engine.close()
