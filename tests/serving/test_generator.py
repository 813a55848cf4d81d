import asyncio

import pytest

from helpers import build_micro_model
from modelmint.serving import Engine, SamplingParams, TextGenerator


@pytest.fixture(scope="module")
def generator(tmp_path_factory: pytest.TempPathFactory) -> TextGenerator:
    return TextGenerator(build_micro_model(tmp_path_factory.mktemp("m")))


def _run(gen: TextGenerator, params: SamplingParams, prompt: str = "您好，") -> list:
    return list(gen.generate(gen.encode(prompt), params))


def test_seed_makes_sampling_reproducible(generator: TextGenerator) -> None:
    p = SamplingParams(max_tokens=20, temperature=1.0, seed=7)
    a, b = _run(generator, p), _run(generator, p)
    c = _run(generator, SamplingParams(max_tokens=20, temperature=1.0, seed=8))
    assert [d.text for d in a] == [d.text for d in b]
    assert [d.text for d in a] != [d.text for d in c]


def test_max_tokens_is_a_hard_limit(generator: TextGenerator) -> None:
    out = _run(generator, SamplingParams(max_tokens=5, temperature=1.0, seed=1))
    assert out[-1].completion_tokens <= 5
    assert out[-1].finish_reason in ("length", "stop")
    assert all(d.finish_reason is None for d in out[:-1])


def test_greedy_equals_transformers_generate(generator: TextGenerator) -> None:
    import torch

    ids = generator.encode("Where is my order")
    out = _run(generator, SamplingParams(max_tokens=12, temperature=0), "Where is my order")
    with torch.no_grad():
        ref = generator.model.generate(
            torch.tensor([ids]),
            max_new_tokens=12,
            do_sample=False,
            eos_token_id=sorted(generator.stop_ids),
            pad_token_id=generator.tokenizer.pad_token_id,
        )
    new = ref[0, len(ids) :].tolist()
    expected = generator.decode([t for t in new if t not in generator.stop_ids])
    assert "".join(d.text for d in out) == expected


def test_top_p_tiny_is_greedy(generator: TextGenerator) -> None:
    greedy = _run(generator, SamplingParams(max_tokens=10, temperature=0))
    nucleus = _run(generator, SamplingParams(max_tokens=10, temperature=1.0, top_p=1e-6, seed=3))
    assert "".join(d.text for d in greedy) == "".join(d.text for d in nucleus)


def test_engine_serves_concurrent_streams_and_cancels(generator: TextGenerator) -> None:
    engine = Engine(generator)

    async def main() -> None:
        params = SamplingParams(max_tokens=8, temperature=0)
        prompt = generator.encode("Hello")
        a, b = await asyncio.gather(
            engine.complete(prompt, params), engine.complete(prompt, params)
        )
        assert a == b
        # Leaving a stream early cancels it; the engine keeps serving.
        stream = engine.stream(prompt, SamplingParams(max_tokens=100, temperature=1.0, seed=1))
        async for _ in stream:
            break
        await stream.aclose()
        c = await engine.complete(prompt, params)
        assert c == a

    try:
        asyncio.run(main())
    finally:
        engine.close()
