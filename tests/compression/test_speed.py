"""Decode speed measurement: fixed prompt and length, interleaved medians."""

from __future__ import annotations

import pytest
import torch

from modelmint.catalog import ModelRef
from modelmint.compression import compare_decode_speed, decode_tokens_per_second
from modelmint.compression.speed import fixed_prompt
from modelmint.modeling import load_causal_lm


def test_the_prompt_is_fixed_and_avoids_special_tokens() -> None:
    a, b = fixed_prompt(1000, 3), fixed_prompt(1000, 3)
    assert torch.equal(a, b) and a.shape == (3, 16)
    assert int(a.min()) >= 16 and int(a.max()) < 1000


def test_decode_speed_counts_every_sequence_of_the_batch(
    base: ModelRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = load_causal_lm(base.path)
    calls: list[tuple[int, ...]] = []
    forward = model.forward

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(tuple(kwargs["input_ids"].shape))  # type: ignore[attr-defined]
        return forward(*args, **kwargs)

    monkeypatch.setattr(model, "forward", counting)
    rate = decode_tokens_per_second(model, batch_size=3, new_tokens=5, prompt_tokens=7)
    assert rate > 0
    assert calls == [(3, 7)] + [(3, 1)] * 4  # one prefill, then one token per pass


def test_compare_interleaves_and_reports_each_model_and_batch(base: ModelRef) -> None:
    model = load_causal_lm(base.path)
    events = []
    speeds = compare_decode_speed(
        {"a": model, "b": model}, batch_sizes=(1, 2), rounds=2, new_tokens=3, progress=events.append
    )
    assert set(speeds) == {"a", "b"} and all(set(v) == {1, 2} for v in speeds.values())
    assert all(rate > 0 for v in speeds.values() for rate in v.values())
    assert events[-1].completed == events[-1].total == 8


def test_a_length_beyond_the_context_is_refused(base: ModelRef) -> None:
    model = load_causal_lm(base.path)
    with pytest.raises(ValueError, match="exceed the context of 128"):
        decode_tokens_per_second(model, new_tokens=120, prompt_tokens=16)
