"""The native engine: continuous batching, sampling, limits and load behaviour, on a micro
model with the real tokenizer."""

import asyncio
import time

import pytest
import torch

from modelmint.serving import (
    Engine,
    EngineConfig,
    EngineOverloaded,
    QueueTimeout,
    SamplingParams,
)
from modelmint.serving.sampler import SamplingState, apply_penalties
from support.helpers import build_micro_model
from support.serving import run_stream


def _text(deltas: list) -> str:
    return "".join(d.text for d in deltas)


def _reference_greedy(engine: Engine, ids: list[int], n: int) -> str:
    with torch.no_grad():
        out = engine.runner.model.generate(
            torch.tensor([ids]),
            max_new_tokens=n,
            do_sample=False,
            eos_token_id=sorted(engine.codec.stop_ids),
            pad_token_id=engine.codec.tokenizer.pad_token_id,
        )
    new = out[0, len(ids) :].tolist()
    return engine.codec.decode([t for t in new if t not in engine.codec.stop_ids])


def test_batched_greedy_equals_transformers_generate(engine: Engine) -> None:
    prompts = ["Where is my order", "您好，我想退款", "Invoice for", "我的包裹", "Hi", "退货"]
    lengths = [12, 7, 15, 3, 9, 11]  # more prompts than slots: some wait, all join mid-flight

    async def main() -> list[str]:
        params = [SamplingParams(max_tokens=n, temperature=0) for n in lengths]
        done = await asyncio.gather(
            *[
                engine.complete(engine.codec.encode(p), s)
                for p, s in zip(prompts, params, strict=True)
            ]
        )
        return [d.text for d in done]

    outputs = asyncio.run(main())
    for prompt, n, out in zip(prompts, lengths, outputs, strict=True):
        assert out == _reference_greedy(engine, engine.codec.encode(prompt), n), prompt


def test_seed_reproducible_whatever_shares_the_batch(engine: Engine) -> None:
    params = SamplingParams(max_tokens=20, temperature=1.0, top_p=0.95, seed=7)
    alone = _text(run_stream(engine, "您好，", params))

    async def crowded() -> str:
        others = [
            engine.complete(engine.codec.encode(p), SamplingParams(max_tokens=25, seed=i))
            for i, p in enumerate(["Where", "退款", "Hello there"])
        ]
        mine, *_ = await asyncio.gather(
            engine.complete(engine.codec.encode("您好，"), params), *others
        )
        return mine.text

    assert asyncio.run(crowded()) == alone
    other_seed = SamplingParams(max_tokens=20, temperature=1.0, top_p=0.95, seed=8)
    assert _text(run_stream(engine, "您好，", other_seed)) != alone


def test_max_tokens_is_a_hard_limit(engine: Engine) -> None:
    out = run_stream(engine, "您好，", SamplingParams(max_tokens=5, temperature=1.0, seed=1))
    assert out[-1].completion_tokens <= 5
    assert out[-1].finish_reason in ("length", "stop")
    assert all(d.finish_reason is None for d in out[:-1])


def test_top_p_tiny_and_top_k_one_are_greedy(engine: Engine) -> None:
    greedy = _text(run_stream(engine, "您好，", SamplingParams(max_tokens=10, temperature=0)))
    nucleus = SamplingParams(max_tokens=10, temperature=1.0, top_p=1e-6, seed=3)
    top1 = SamplingParams(max_tokens=10, temperature=1.5, top_k=1, seed=3)
    assert _text(run_stream(engine, "您好，", nucleus)) == greedy
    assert _text(run_stream(engine, "您好，", top1)) == greedy


def test_context_length_ends_generation(engine: Engine) -> None:
    limit = engine.codec.context_length
    ids = engine.codec.encode("您好 " * 200)[: limit - 3]
    out = run_stream(engine, ids, SamplingParams(max_tokens=50, temperature=1.0, seed=0))
    assert out[-1].finish_reason in ("length", "stop")
    assert out[-1].completion_tokens <= 3


def test_a_served_context_shorter_than_the_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``max_context``: the cache holds that many positions, the codec (which the gateway
    checks requests against) says so, a longer prompt is refused and an answer stops there."""
    e = Engine.load(build_micro_model(tmp_path), config=EngineConfig(slots=2, max_context=40))
    try:
        assert e.codec.context_length == e.runner.context_length == 40
        assert e.runner.cache.max_len == 40
        with pytest.raises(ValueError, match="context of 40"):
            run_stream(e, e.codec.encode("您好 " * 40)[:40], SamplingParams(max_tokens=1))
        out = run_stream(e, e.codec.encode("您好 " * 40)[:30], SamplingParams(max_tokens=50))
        assert out[-1].finish_reason == "length" and out[-1].completion_tokens == 10
    finally:
        e.close()


def test_penalties_follow_openai_and_transformers() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
    state = SamplingState(
        SamplingParams(
            max_tokens=1, repetition_penalty=2.0, presence_penalty=0.5, frequency_penalty=0.25
        ),
        torch.Generator(),
        prompt_ids=[1],
        output_ids=[0, 0, 3],
    )
    apply_penalties(logits, [state])
    # token 0: 2.0 / 2 - 2 * 0.25 - 0.5; token 1 (prompt only): -1.0 * 2;
    # token 3: 3.0 / 2 - 0.25 - 0.5
    assert logits.tolist() == [[0.0, -2.0, 0.5, 0.75]]


def test_repetition_penalty_changes_what_repeats(engine: Engine) -> None:
    plain = run_stream(engine, "您好", SamplingParams(max_tokens=30, temperature=0))
    damped = run_stream(
        engine, "您好", SamplingParams(max_tokens=30, temperature=0, repetition_penalty=3.0)
    )
    ids_plain = engine.codec.encode(_text(plain))
    ids_damped = engine.codec.encode(_text(damped))
    repeats = lambda ids: len(ids) - len(set(ids))  # noqa: E731
    assert repeats(ids_damped) < max(repeats(ids_plain), 1)


def test_cancelling_a_stream_frees_its_slot_at_once(engine: Engine) -> None:
    async def main() -> None:
        long = SamplingParams(max_tokens=100, temperature=1.0, seed=1)
        streams = [engine.stream(engine.codec.encode("Hello"), long) for _ in range(3)]
        for s in streams:
            await anext(s)
        assert len(engine.core.scheduler.running) == 3
        await streams[0].aclose()
        deadline = time.monotonic() + 5
        while len(engine.core.scheduler.running) > 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert len(engine.core.scheduler.running) == 2
        for s in streams[1:]:
            await s.aclose()

    asyncio.run(main())


def test_prefix_reuse_gives_the_same_tokens(engine: Engine) -> None:
    system = "You are the assistant of an online shop. Be brief. "
    params = SamplingParams(max_tokens=8, temperature=0)
    assert engine.core.prefix_cache is not None
    hits = engine.core.prefix_cache.hits
    first = _text(run_stream(engine, system + "Where is my order?", params))
    second = _text(run_stream(engine, system + "我要退款", params))
    assert engine.core.prefix_cache.hits > hits
    ids = engine.codec.encode(system + "我要退款")
    assert second == _reference_greedy(engine, ids, 8)
    assert first == _reference_greedy(engine, engine.codec.encode(system + "Where is my order?"), 8)


@pytest.fixture(scope="module")
def one_slot_engine(tmp_path_factory: pytest.TempPathFactory):
    config = EngineConfig(slots=1, max_waiting=2, queue_timeout_s=0.5, prefix_cache_mb=0)
    e = Engine.load(build_micro_model(tmp_path_factory.mktemp("m1")), config=config)
    yield e
    e.close()


def test_full_queue_refuses_at_once_and_waiting_times_out(
    one_slot_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = one_slot_engine
    # The busy request must outlast the queue timeout however fast the machine is: no end
    # token, and every step slowed down (a fake delay isolating the queue's behaviour).
    monkeypatch.setattr(engine.codec, "stop_ids", set())
    forward = engine.runner.forward

    def slow_forward_fake(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.02)
        return forward(*args, **kwargs)

    monkeypatch.setattr(engine.runner, "forward", slow_forward_fake)

    async def main() -> None:
        ids = engine.codec.encode("Hello")
        busy = engine.stream(ids, SamplingParams(max_tokens=400, temperature=1.0, seed=1))
        await anext(busy)  # holds the only slot
        waiting = [
            asyncio.ensure_future(engine.complete(ids, SamplingParams(max_tokens=2)))
            for _ in range(2)
        ]
        await asyncio.sleep(0.05)
        with pytest.raises(EngineOverloaded) as refused:
            await engine.complete(ids, SamplingParams(max_tokens=2))
        assert refused.value.retry_after_s >= 1
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(r, QueueTimeout) for r in results), results
        await busy.aclose()

    asyncio.run(main())
