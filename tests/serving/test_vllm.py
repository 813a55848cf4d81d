"""The vLLM engine behind the same interface: runs where vLLM and a GPU are present (CI has
neither, so it is skipped there; `pip install 'modelmint[vllm]'` on a GPU machine runs it)."""

import asyncio

import pytest
import torch

from modelmint.serving import Engine, SamplingParams, TextCodec, VllmEngine, vllm_available
from support.helpers import build_micro_model

pytestmark = pytest.mark.skipif(
    not (vllm_available() and torch.cuda.is_available()), reason="needs vLLM and a GPU"
)


def test_vllm_greedy_and_scores_match_the_native_engine(tmp_path) -> None:
    path = build_micro_model(tmp_path / "m")
    native = Engine.load(path)
    vllm = VllmEngine(path, TextCodec(path))
    ids = native.codec.encode("Where is my order")
    params = SamplingParams(max_tokens=12, temperature=0, logprobs=2)

    async def both() -> tuple:
        return (
            await native.complete(ids, params),
            await vllm.complete(ids, params),
            await native.score(ids, 2),
            await vllm.score(ids, 2),
        )

    try:
        a, b, sa, sb = asyncio.run(both())
    finally:
        native.close()
        vllm.close()
    assert a.text == b.text and a.completion_tokens == b.completion_tokens
    for x, y in zip(sa.tokens[1:], sb.tokens[1:], strict=True):
        assert x.token_id == y.token_id
        assert x.logprob == pytest.approx(y.logprob, abs=1e-2)  # GPU kernels, bf16 or fp32
