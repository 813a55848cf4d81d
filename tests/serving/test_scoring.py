import asyncio
import re

import pytest
import torch

from modelmint.serving import Engine, PromptScores, SamplingParams, TokenTexts
from support.serving import run_stream


def _forward_logprobs(engine: Engine, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        logits = engine.runner.model(input_ids=torch.tensor([ids])).logits[0]
    return torch.log_softmax(logits.float(), dim=-1)


def _score(engine: Engine, ids: list[int], top_k: int) -> PromptScores:
    return asyncio.run(engine.score(ids, top_k))


def test_score_gives_each_prompt_token_its_logprob(engine: Engine) -> None:
    ids = engine.codec.encode("您好，我的订单 MM20261122 什么时候发货？")
    scores = _score(engine, ids, top_k=3)
    reference = _forward_logprobs(engine, ids)
    assert [t.token_id for t in scores.tokens] == ids
    assert scores.tokens[0].logprob is None and scores.tokens[0].top == ()
    for i, t in enumerate(scores.tokens[1:], start=1):
        assert t.logprob == pytest.approx(float(reference[i - 1, ids[i]]), abs=1e-6)
        best = torch.topk(reference[i - 1], 3)
        assert [lp for _, lp in t.top] == pytest.approx(best.values.tolist(), abs=1e-6)
        assert [text for text, _ in t.top] == [
            engine.codec.token_texts(int(j)) for j in best.indices
        ]
    assert scores.total == pytest.approx(sum(t.logprob or 0.0 for t in scores.tokens))


def test_text_offsets_point_into_the_decoded_prompt(engine: Engine) -> None:
    text = "Hello, 您好 world"
    ids = engine.codec.encode(text)
    offsets = [t.text_offset for t in _score(engine, ids, top_k=0).tokens]
    assert offsets[0] == 0 and offsets == sorted(offsets)
    # Where a token starts, the text decoded so far ends.
    for i, offset in enumerate(offsets):
        assert text.startswith(engine.codec.decode(ids[:i]).rstrip("\ufffd")[:offset])


def test_partial_characters_are_shown_as_bytes(engine: Engine) -> None:
    texts = TokenTexts(engine.codec.tokenizer)
    shown = [texts(i) for i in range(engine.codec.vocab_size)]
    assert len(set(shown)) == len(shown), "two tokens share a top_logprobs key"
    partial = [s for s in shown if s.startswith("bytes:")]
    assert partial and all("\ufffd" not in s for s in shown)
    for p in partial:
        hex_bytes = p[len("bytes:") :]
        assert re.fullmatch(r"(\\x[0-9a-f]{2})+", hex_bytes), p
        raw = bytes.fromhex(hex_bytes.replace("\\x", ""))
        assert "\ufffd" in raw.decode("utf-8", errors="replace")


def test_greedy_generation_reports_the_best_token_each_step(engine: Engine) -> None:
    ids = engine.codec.encode("Where is my order")
    deltas = run_stream(engine, ids, SamplingParams(max_tokens=10, temperature=0, logprobs=2))
    logprobs = [t for d in deltas for t in d.logprobs]
    assert len(logprobs) == deltas[-1].completion_tokens
    generated = [t.token_id for t in logprobs]
    reference = _forward_logprobs(engine, ids + generated)
    for step, t in enumerate(logprobs):
        row = reference[len(ids) + step - 1]
        assert t.logprob == pytest.approx(float(row.max()), abs=1e-5)
        assert t.top[0] == (t.token, pytest.approx(t.logprob))
        assert len(t.top) == 2


def test_no_logprobs_unless_asked(engine: Engine) -> None:
    deltas = run_stream(engine, "Hi", SamplingParams(max_tokens=4))
    assert all(d.logprobs == () for d in deltas)


def test_engine_scores_between_generations(engine: Engine) -> None:
    async def main() -> None:
        ids = engine.codec.encode("Hello there")
        params = SamplingParams(max_tokens=6, temperature=0, logprobs=0)
        scored, done = await asyncio.gather(engine.score(ids, 1), engine.complete(ids, params))
        assert scored == await engine.score(ids, 1)
        assert len(done.logprobs) == done.completion_tokens
        assert all(t.top == () for t in done.logprobs)

    asyncio.run(main())
