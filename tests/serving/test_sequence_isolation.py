"""One request can never fail the others that share its step: parameters no sequence can
run with are refused when the sequence is created, naming the field; any integer seed and
any top_k run; and a sequence whose own row fails fails alone."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from modelmint.serving import (
    Engine,
    EngineConfig,
    InvalidSampling,
    ProcessEngine,
    SamplingParams,
)
from modelmint.serving.core import EngineCore, NoObserver, load_runner
from modelmint.serving.models import ModelRunner, RowInput
from modelmint.serving.sampler import SamplingState, generator, sample
from support.helpers import build_micro_model

PROMPT = "Where is my order"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_micro_model(tmp_path_factory.mktemp("m"))


@pytest.fixture(scope="module", params=["thread", "process"])
def engine(request: pytest.FixtureRequest, model_dir: Path) -> Iterator[Engine | ProcessEngine]:
    kind = Engine if request.param == "thread" else ProcessEngine
    e = kind.load(model_dir, config=EngineConfig(slots=4))
    yield e
    e.close()


def _texts(engine: Engine | ProcessEngine, params: Sequence[SamplingParams]) -> list[str]:
    async def main() -> list[str]:
        ids = engine.codec.encode(PROMPT)
        done = await asyncio.gather(*[engine.complete(ids, p) for p in params])
        return [d.text for d in done]

    return asyncio.run(main())


def test_any_integer_seed_runs_and_repeats(engine: Engine | ProcessEngine) -> None:
    # 2^64 and beyond made seeding raise inside the engine; 2^64 - 1 did with n >= 2,
    # whose second choice is seeded with seed + 1.
    seeds = [2**64, 2**64 - 1, 2**64 + 1, -(2**63), 2**200]
    params = [SamplingParams(max_tokens=8, temperature=1.0, seed=s) for s in seeds]
    first = _texts(engine, params)
    assert _texts(engine, params) == first  # seeded: the same tokens again
    assert first[0] == first[-2] or seeds[0] % 2**64 != seeds[-2] % 2**64
    folded = _texts(engine, [SamplingParams(max_tokens=8, temperature=1.0, seed=5 + 2**64)])
    assert folded == _texts(engine, [SamplingParams(max_tokens=8, temperature=1.0, seed=5)])


def test_a_top_k_beyond_the_vocabulary_keeps_every_token(engine: Engine | ProcessEngine) -> None:
    base = SamplingParams(max_tokens=8, temperature=1.0, seed=7)
    every = _texts(engine, [base])
    for top_k in (engine.codec.vocab_size, 2**63, 2**70):
        assert _texts(engine, [SamplingParams(**{**base.__dict__, "top_k": top_k})]) == every


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", math.nan),
        ("temperature", -1.0),
        ("top_p", 0.0),
        ("top_p", math.inf),
        ("repetition_penalty", 0.0),
        ("presence_penalty", math.nan),
        ("max_tokens", -1),
        ("logprobs", -3),
    ],
)
def test_values_no_sequence_can_run_with_are_refused_naming_the_field(
    engine: Engine | ProcessEngine, field: str, value: Any
) -> None:
    params = {"max_tokens": 4, field: value}
    with pytest.raises(InvalidSampling) as refused:
        _texts(engine, [SamplingParams(**params)])
    assert refused.value.field == field
    # and the engine serves on
    assert _texts(engine, [SamplingParams(max_tokens=4, temperature=0)])[0]


def test_a_row_that_cannot_be_sampled_fails_alone() -> None:
    logits = torch.randn(3, 50)
    logits[1] = math.nan  # what a model gives a row it overflowed on
    states = [
        SamplingState(SamplingParams(max_tokens=1, temperature=1.0), generator(i), [1, 2], [])
        for i in range(3)
    ]
    drawn = sample(logits, states)
    assert isinstance(drawn[0], int) and isinstance(drawn[2], int)
    assert isinstance(drawn[1], RuntimeError)


class PoisonedPromptRunnerFake:
    """A real runner whose logits are NaN for any prompt holding ``marker``: isolates what
    the engine does when one row of a shared step goes wrong."""

    def __init__(self, runner: ModelRunner, marker: int) -> None:
        self.runner, self.marker = runner, marker

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runner, name)

    def forward(
        self, lo: int, rows: Sequence[RowInput], wanted: Sequence[int] | None = None
    ) -> torch.Tensor:
        picked = list(range(len(rows))) if wanted is None else list(wanted)
        logits = self.runner.forward(lo, rows, picked)
        for i, b in enumerate(picked):
            if len(rows[b].tokens) > 1 and self.marker in rows[b].tokens:
                logits[i] = math.nan
        return logits


def _run(core: EngineCore, prompts: list[list[int]], params: list[SamplingParams]) -> list[Any]:
    """Adds every prompt before the first step, so they are admitted and decoded together;
    steps until each has its last piece or an error."""
    got: list[list[Any]] = [[] for _ in prompts]
    for i, (ids, p) in enumerate(zip(prompts, params, strict=True)):
        core.add(core.sequence(ids, p, p.seed or 0, frozenset(core.codec.stop_ids), got[i].append))
    while core.has_work:
        core.step()
    out: list[Any] = []
    for items in got:
        error = next((x for x in items if isinstance(x, BaseException)), None)
        out.append(error or "".join(x.text for x in items))
    return out


def test_a_sequence_that_fails_in_a_shared_step_fails_alone(model_dir: Path) -> None:
    runner, codec = load_runner(model_dir, EngineConfig(slots=4))
    ids = codec.encode(PROMPT)
    poisoned = codec.encode("退货 " + PROMPT)
    marker = next(t for t in poisoned if t not in ids)
    sampled = SamplingParams(max_tokens=12, temperature=1.0, seed=3)
    config = EngineConfig(slots=4, prefix_cache_mb=0)
    (alone,) = _run(EngineCore(runner, codec, config, NoObserver()), [ids], [sampled])
    shared = EngineCore(PoisonedPromptRunnerFake(runner, marker), codec, config, NoObserver())  # type: ignore[arg-type]
    failed, served = _run(shared, [poisoned, ids], [sampled, sampled])
    assert isinstance(failed, RuntimeError), failed
    assert isinstance(alone, str) and served == alone
