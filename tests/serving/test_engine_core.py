"""The engine core step by step, with no model, thread or clock of its own: a
``ScriptedRunner`` stands in for the model runner and a ``LetterCodec`` for the tokenizer, so
each test drives ``EngineCore.step`` by hand and reads what every request was handed.

The scripted runner keeps its tokens in a real ``SlotKVCache`` and picks each next token from
everything in the row's slot, so a sequence whose cache rows were lost, copied to the wrong
slot or restored wrong from the prefix cache gives a different answer: every answer is
checked against ``scripted_answer``, the same rule run over the plain token list."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest
import torch

from modelmint.serving import (
    EngineConfig,
    InvalidSampling,
    QueueTimeout,
    SamplingParams,
    TextDelta,
)
from modelmint.serving.core import EngineCore
from modelmint.serving.core.engine_core import CoreSequence
from modelmint.serving.models import RowInput, SlotKVCache

VOCAB = 32
END = 0  # the end-of-text token: never picked by the script, so answers run to max_tokens


def next_token(seen: Sequence[int]) -> int:
    """The script: a token (never END) that depends on every earlier token and its place."""
    return 1 + sum(i * t for i, t in enumerate(seen, start=1)) % (VOCAB - 1)


def scripted_answer(prompt: Sequence[int], n: int) -> list[int]:
    seen = list(prompt)
    for _ in range(n):
        seen.append(next_token(seen))
    return seen[len(prompt) :]


class LetterCodec:
    """A fake tokenizer: token t is the letter chr(64 + t), END decodes to nothing."""

    vocab_size = VOCAB

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        return "".join(chr(64 + t) for t in ids if t != END)


def letters(tokens: Sequence[int]) -> str:
    return LetterCodec().decode(tokens)


class ScriptedRunner:
    """A fake model runner: stores each row's tokens through ``SlotKVCache.update`` as an
    attention layer would, and answers the one-hot logits of ``next_token`` over the row's
    whole past as the cache holds it."""

    def __init__(self, slots: int, context_length: int = 64) -> None:
        self.cache = SlotKVCache(
            layers=1,
            slots=slots,
            kv_heads=1,
            max_len=context_length,
            head_dim=1,
            dtype=torch.float32,
        )
        self.context_length = context_length
        self.calls: list[tuple[int, list[RowInput]]] = []  # (first slot, rows) of each pass
        self.copies: list[tuple[int, int, int]] = []  # (from slot, to slot, positions)
        self.fail_with: Exception | None = None

    @property
    def slots(self) -> int:
        return self.cache.slots

    def forward(
        self, lo: int, rows: Sequence[RowInput], wanted: Sequence[int] | None = None
    ) -> torch.Tensor:
        self.calls.append((lo, list(rows)))
        if self.fail_with is not None:
            raise self.fail_with
        lengths = [len(r.tokens) for r in rows]
        self.cache.bind(lo, [r.start for r in rows], lengths)
        new = torch.zeros((len(rows), 1, max(lengths), 1))
        for b, r in enumerate(rows):
            new[b, 0, : len(r.tokens), 0] = torch.tensor(list(r.tokens), dtype=torch.float32)
        past, _ = self.cache.update(new, new, 0)
        logits = torch.zeros((len(rows), VOCAB))
        for b, r in enumerate(rows):
            seen = past[b, 0, : r.start + len(r.tokens), 0].long().tolist()
            logits[b, next_token(seen)] = 1.0
        return logits if wanted is None else logits[list(wanted)]

    def copy_slot(self, src: int, dst: int, length: int) -> None:
        self.copies.append((src, dst, length))
        self.cache.copy_slot(src, dst, length)


class RecordingObserver:
    def __init__(self) -> None:
        self.finished_reasons: list[tuple[str, int]] = []
        self.queues: list[tuple[int, int]] = []

    def queue(self, waiting: int, running: int) -> None:
        self.queues.append((waiting, running))

    def first_token(self, seconds: float, prompt_tokens: int) -> None: ...
    def next_token(self, seconds: float) -> None: ...

    def finished(self, reason: str, seconds: float, completion_tokens: int) -> None:
        self.finished_reasons.append((reason, completion_tokens))

    def restarted(self, seconds: float) -> None: ...


class Answer:
    """What one request was handed, in order."""

    def __init__(self) -> None:
        self.got: list[TextDelta | BaseException] = []

    def __call__(self, piece: TextDelta | BaseException) -> None:
        self.got.append(piece)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.got if isinstance(p, TextDelta))

    @property
    def last(self) -> TextDelta | BaseException:
        return self.got[-1]


def make_core(
    slots: int = 2,
    *,
    context_length: int = 64,
    max_prefill_tokens: int = 2048,
    queue_timeout_s: float = 60.0,
    prefix_cache_mb: int = 0,  # prefix reuse is on only where a test is about it
    clock: Callable[[], float] = time.monotonic,
) -> tuple[EngineCore, ScriptedRunner, RecordingObserver]:
    runner = ScriptedRunner(slots, context_length)
    observer = RecordingObserver()
    config = EngineConfig(
        slots=slots,
        max_prefill_tokens=max_prefill_tokens,
        queue_timeout_s=queue_timeout_s,
        prefix_cache_mb=prefix_cache_mb,
    )
    return EngineCore(runner, LetterCodec(), config, observer, clock), runner, observer


class ManualClock:
    """A fake monotonic clock: time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def submit(
    core: EngineCore, prompt: list[int], max_tokens: int, stop: Sequence[int] = (END,)
) -> tuple[Answer, CoreSequence]:
    answer = Answer()
    params = SamplingParams(max_tokens=max_tokens, temperature=0)
    seq = core.sequence(prompt, params, seed=0, stop_ids=frozenset(stop), deliver=answer)
    core.add(seq)
    return answer, seq


def run(core: EngineCore, max_steps: int = 200) -> int:
    """Steps until nothing is left; returns how many steps that took."""
    steps = 0
    while core.has_work:
        assert steps < max_steps, "the core never finished"
        core.step()
        steps += 1
    return steps


def prompt(first: int, length: int) -> list[int]:
    return [1 + (first + i) % (VOCAB - 1) for i in range(length)]


def finish(answer: Answer) -> tuple[str | None, int]:
    last = answer.last
    assert isinstance(last, TextDelta), last
    return last.finish_reason, last.completion_tokens


def test_every_request_gets_the_answer_of_its_own_tokens_while_slots_are_reused() -> None:
    core, runner, observer = make_core(slots=2)
    lengths = [3, 7, 2, 5, 4]
    prompts = [prompt(5 * i, 4 + i) for i in range(len(lengths))]
    answers = [submit(core, p, n)[0] for p, n in zip(prompts, lengths, strict=True)]
    run(core)
    for p, n, answer in zip(prompts, lengths, answers, strict=True):
        assert answer.text == letters(scripted_answer(p, n))
        assert finish(answer) == ("length", n)
    assert sorted(observer.finished_reasons) == sorted(("length", n) for n in lengths)
    assert runner.copies  # sequences did move between slots on the way
    assert max(len(rows) for _, rows in runner.calls) == 2  # never more rows than slots


def test_waiting_requests_start_in_arrival_order_in_the_slot_after_the_running_ones() -> None:
    core, runner, observer = make_core(slots=2)
    a, _ = submit(core, prompt(0, 3), 1)  # done at its first token
    submit(core, prompt(10, 3), 4)
    submit(core, prompt(20, 3), 4)
    submit(core, prompt(30, 3), 4)
    core.step()
    assert runner.calls == [(0, [RowInput(prompt(0, 3), 0), RowInput(prompt(10, 3), 0)])]
    assert finish(a) == ("length", 1)
    assert observer.queues == [(2, 1)]  # the third and fourth wait; the second runs
    core.step()
    # the second now runs in slot 0 and decodes; the third takes slot 1 and reads its
    # prompt in the same pass; the fourth still waits
    second = scripted_answer(prompt(10, 3), 1)[0]
    assert runner.calls[1] == (0, [RowInput([second], 3), RowInput(prompt(20, 3), 0)])
    assert observer.queues[-1] == (1, 2)


def test_a_prompt_over_the_budget_is_read_in_chunks_beside_decoding_in_arrival_order() -> None:
    core, runner, _ = make_core(slots=4, max_prefill_tokens=10)
    pa, pb, pc = prompt(0, 6), prompt(7, 6), prompt(14, 2)
    answers = [submit(core, p, 3)[0] for p in (pa, pb, pc)]
    core.step()
    # b's first 4 tokens fill the budget beside a; c (2 tokens) waits behind b
    assert runner.calls == [(0, [RowInput(pa, 0), RowInput(pb[:4], 0)])]
    core.step()
    a1 = scripted_answer(pa, 1)[0]
    assert runner.calls[1] == (0, [RowInput([a1], 6), RowInput(pb[4:], 4), RowInput(pc, 0)])
    run(core)
    for p, answer in zip((pa, pb, pc), answers, strict=True):
        assert answer.text == letters(scripted_answer(p, 3))


def test_a_finished_sequence_leaves_its_slot_and_cache_rows_to_the_last_running_one() -> None:
    core, runner, _ = make_core(slots=3)
    pa, pb, pc = prompt(0, 3), prompt(4, 5), prompt(9, 4)
    submit(core, pa, 1)
    b, _ = submit(core, pb, 4)
    c, _ = submit(core, pc, 4)
    core.step()
    assert runner.copies == [(2, 0, len(pc))]  # c's prompt, from the last slot into a's
    assert [e.item.prompt_ids for e in core.scheduler.running] == [pc, pb]
    core.step()
    lo, rows = runner.calls[-1]
    assert lo == 0 and [r.start for r in rows] == [len(pc), len(pb)]
    run(core)
    assert b.text == letters(scripted_answer(pb, 4))
    assert c.text == letters(scripted_answer(pc, 4))


def test_a_request_that_waited_past_the_queue_timeout_gets_queue_timeout_and_no_slot() -> None:
    clock = ManualClock()
    core, runner, observer = make_core(slots=1, queue_timeout_s=5, clock=clock)
    pa, pb, pc = prompt(0, 3), prompt(4, 3), prompt(8, 3)
    a, _ = submit(core, pa, 6)
    core.step()
    b, _ = submit(core, pb, 2)
    clock.now += 2
    c, _ = submit(core, pc, 2)
    clock.now += 3.5  # b has waited 5.5 s, c 3.5 s; a has run all along, which must not matter
    core.step()
    assert len(b.got) == 1 and isinstance(b.last, QueueTimeout)
    assert "5 s" in str(b.last)
    assert ("timeout", 0) in observer.finished_reasons
    assert core.waiting == 1 and c.got == []  # waited less: still in the queue
    run(core)
    assert all(r.tokens != pb for _, rows in runner.calls for r in rows)  # never prefilled
    assert a.text == letters(scripted_answer(pa, 6))
    assert c.text == letters(scripted_answer(pc, 2))


def test_a_cancelled_running_sequence_stops_at_the_next_step_and_frees_its_slot() -> None:
    core, runner, observer = make_core(slots=3)
    pa, pb, pc = prompt(0, 3), prompt(4, 4), prompt(9, 5)
    a, a_seq = submit(core, pa, 8)
    b, _ = submit(core, pb, 8)
    c, _ = submit(core, pc, 8)
    core.step()
    core.step()
    a_seq.cancelled.set()  # the client went away
    core.step()
    assert len(a.got) == 2  # nothing more after the cancel, not even a last piece
    assert ("cancelled", 2) in observer.finished_reasons
    assert runner.copies[-1] == (2, 0, len(pc) + 1)  # c, with its one decoded token
    assert len(runner.calls[-1][1]) == 2  # only b and c decode
    run(core)
    assert b.text == letters(scripted_answer(pb, 8))
    assert c.text == letters(scripted_answer(pc, 8))


def test_a_cancelled_waiting_request_leaves_the_queue_without_being_prefilled() -> None:
    core, runner, observer = make_core(slots=1)
    pa, pb = prompt(0, 3), prompt(4, 3)
    a, _ = submit(core, pa, 3)
    b, b_seq = submit(core, pb, 3)
    b_seq.cancelled.set()
    run(core)
    assert b.got == [] and ("cancelled", 0) in observer.finished_reasons
    assert all(r.tokens != pb for _, rows in runner.calls for r in rows)
    assert a.text == letters(scripted_answer(pa, 3))


def test_a_failing_model_step_hands_its_error_to_every_request_in_flight() -> None:
    core, runner, _ = make_core(slots=1)
    a, _ = submit(core, prompt(0, 3), 5)
    core.step()
    b, _ = submit(core, prompt(4, 3), 5)
    runner.fail_with = RuntimeError("out of memory")
    core.step()
    assert a.last is runner.fail_with and b.last is runner.fail_with
    assert not core.has_work
    assert core.scheduler.running == [] and core.waiting == 0


def test_a_stop_token_ends_the_answer_and_its_text_is_not_sent() -> None:
    core, _, observer = make_core(slots=1)
    p = prompt(3, 5)
    expected = scripted_answer(p, 10)
    stop = expected[3]
    first = expected.index(stop)
    a, _ = submit(core, p, 10, stop=(stop,))
    run(core)
    assert a.text == letters(expected[:first])
    assert finish(a) == ("stop", first + 1)  # the stop token counts as generated
    assert observer.finished_reasons == [("stop", first + 1)]


def test_prompt_and_answer_together_stay_within_the_context() -> None:
    core, runner, _ = make_core(slots=1, context_length=12)
    p = prompt(0, 9)
    a, _ = submit(core, p, 50)
    run(core)
    assert finish(a) == ("length", 3)
    assert a.text == letters(scripted_answer(p, 3))
    assert max(r.start + len(r.tokens) for _, rows in runner.calls for r in rows) <= 12


def test_a_prompt_sharing_a_cached_block_is_prefilled_from_after_it() -> None:
    core, runner, _ = make_core(slots=2, prefix_cache_mb=1)
    shared = prompt(5, 16)
    first = shared + prompt(20, 6)
    submit(core, first, 2)
    run(core)
    for t in (*runner.cache.keys, *runner.cache.values):  # the slots forget everything
        t.zero_()
    second = shared + prompt(11, 3)
    b, _ = submit(core, second, 4)
    run(core)
    assert runner.calls[-4] == (0, [RowInput(second[16:], 16)])  # the prefill, then 3 decodes
    assert b.text == letters(scripted_answer(second, 4))  # the block came back right
    assert core.prefix_cache is not None
    assert (core.prefix_cache.hits, core.prefix_cache.reused_tokens) == (1, 16)


def test_cancel_everything_ends_running_and_waiting_requests_as_cancelled() -> None:
    core, _, _ = make_core(slots=1)
    a, _ = submit(core, prompt(0, 3), 5)
    core.step()
    b, _ = submit(core, prompt(4, 3), 5)
    core.cancel_everything()
    assert a.last == TextDelta("", 1, "cancelled")
    assert b.last == TextDelta("", 0, "cancelled")
    assert not core.has_work


def test_parameters_no_sequence_can_run_with_are_refused_before_queueing() -> None:
    core, _, _ = make_core(slots=1)
    with pytest.raises(InvalidSampling) as refused:
        core.sequence(prompt(0, 3), SamplingParams(max_tokens=2, top_p=0), 0, frozenset(), print)
    assert refused.value.field == "top_p"
    assert not core.has_work
