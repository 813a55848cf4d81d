"""The scheduler alone, on plain strings: who is admitted and in what order, what the prefill
budget lets through, how a finished sequence's slot is refilled, and which waiting requests
expire. Arrival times are given explicitly (a ``ManualClock`` hands them out), so expiry is
exact rather than a matter of sleeping."""

from __future__ import annotations

from modelmint.serving.core import Scheduled, Scheduler


class ManualClock:
    """A fake monotonic clock: time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


class SlotMoves:
    """Records each cache move the scheduler asks for: (item, from slot, to slot)."""

    def __init__(self) -> None:
        self.moves: list[tuple[str, int | None, int]] = []

    def __call__(self, entry: Scheduled[str], dst: int) -> None:
        self.moves.append((entry.item, entry.slot, dst))


def scheduler(slots: int = 3, max_prefill_tokens: int = 100) -> tuple[Scheduler[str], SlotMoves]:
    moves = SlotMoves()
    return Scheduler(slots=slots, max_prefill_tokens=max_prefill_tokens, move_slot=moves), moves


def queue(s: Scheduler[str], *requests: tuple[str, int], clock: ManualClock | None = None) -> None:
    for name, prompt_len in requests:
        arrived = clock.advance(1) if clock else 0.0
        s.waiting.append(Scheduled(name, prompt_len, arrived=arrived))


def running(s: Scheduler[str]) -> list[tuple[str, int | None]]:
    return [(e.item, e.slot) for e in s.running]


def test_requests_are_admitted_in_arrival_order_into_slots_from_zero() -> None:
    s, _ = scheduler(slots=3)
    queue(s, ("a", 5), ("b", 5), ("c", 5), ("d", 5), ("e", 5))
    admitted = s.admit()
    assert [e.item for e in admitted] == ["a", "b", "c"]
    assert running(s) == [("a", 0), ("b", 1), ("c", 2)]
    assert [e.item for e in s.waiting] == ["d", "e"]
    assert [e.slot for e in s.waiting] == [None, None]
    assert s.admit() == []  # no free slot: nobody else gets in


def prefill(s: Scheduler[str]) -> list[tuple[str, int, int]]:
    """Plans a step's chunks and marks them read, as the engine does after the forward
    pass: (item, start, length) each."""
    chunks = s.chunks()
    for c in chunks:
        c.entry.prefilled = c.start + c.length
    return [(c.entry.item, c.start, c.length) for c in chunks]


def test_a_long_prompt_is_read_in_chunks_of_the_budget_and_the_queue_waits_its_turn() -> None:
    s, _ = scheduler(slots=4, max_prefill_tokens=10)
    queue(s, ("long", 25), ("short", 3))
    assert [e.item for e in s.admit()] == ["long"]  # over the budget alone: still admitted
    assert prefill(s) == [("long", 0, 10)]
    assert s.admit() == []  # 15 tokens still to read: the whole budget is spoken for
    assert prefill(s) == [("long", 10, 10)]
    assert [e.item for e in s.admit()] == ["short"]  # 5 left: the rest of the budget is free
    assert prefill(s) == [("long", 20, 5), ("short", 0, 3)]
    assert [e.item for e in s.decoding()] == ["long", "short"]
    assert s.chunks() == []


def test_a_prompt_over_the_budget_left_blocks_the_queue_no_later_one_jumps_ahead() -> None:
    s, _ = scheduler(slots=4, max_prefill_tokens=10)
    queue(s, ("a", 6), ("b", 6), ("c", 2))
    # c (2 tokens) would fit beside a and b's first chunk, but b is first in line
    assert [e.item for e in s.admit()] == ["a", "b"]
    assert [e.item for e in s.waiting] == ["c"]
    assert prefill(s) == [("a", 0, 6), ("b", 0, 4)]
    assert [e.item for e in s.admit()] == ["c"]
    assert prefill(s) == [("b", 4, 2), ("c", 0, 2)]
    assert running(s) == [("a", 0), ("b", 1), ("c", 2)]


def test_prompt_chunks_follow_the_decoding_slots_without_a_gap() -> None:
    s, _ = scheduler(slots=6, max_prefill_tokens=8)
    queue(s, ("a", 2), ("b", 2), ("c", 20), ("d", 4))
    s.admit()
    prefill(s)  # a, b done; c's first 4 tokens
    assert [e.item for e in s.decoding()] == ["a", "b"]
    chunks = s.chunks()
    assert [(c.entry.item, c.entry.slot, c.start, c.length) for c in chunks] == [("c", 2, 4, 8)]
    assert not chunks[0].completes


def test_a_finished_sequence_leaves_its_slot_to_the_last_running_one() -> None:
    s, moves = scheduler(slots=4)
    queue(s, ("a", 1), ("b", 1), ("c", 1), ("d", 1))
    b = s.admit()[1]
    s.release([b])
    assert moves.moves == [("d", 3, 1)]  # asked while d still names its old slot
    assert running(s) == [("a", 0), ("d", 1), ("c", 2)]
    assert b.slot is None
    queue(s, ("e", 1))
    assert running(s) + [(e.item, e.slot) for e in s.admit()] == [
        ("a", 0),
        ("d", 1),
        ("c", 2),
        ("e", 3),
    ]


def test_releasing_several_at_once_keeps_the_slots_without_gaps() -> None:
    s, moves = scheduler(slots=5)
    queue(s, ("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 1))
    a, _, c, _, e = s.admit()
    s.release([a, e, c])  # the last one among them: it just leaves, nothing moves for it
    assert moves.moves == [("d", 3, 2), ("d", 2, 0)]
    assert running(s) == [("d", 0), ("b", 1)]
    assert [x.slot for x in (a, c, e)] == [None, None, None]


def test_releasing_the_only_running_sequence_moves_nothing() -> None:
    s, moves = scheduler(slots=2)
    queue(s, ("a", 1))
    (a,) = s.admit()
    s.release([a])
    assert moves.moves == [] and s.running == [] and not s.has_work


def test_requests_waiting_since_before_the_deadline_expire_the_rest_keep_their_order() -> None:
    clock = ManualClock()
    s, _ = scheduler(slots=1)
    queue(s, ("running", 1), clock=clock)
    s.admit()
    queue(s, ("first", 1), ("second", 1), ("third", 1), ("fourth", 1), clock=clock)
    deadline = clock.now - 1  # when "third" arrived
    expired = s.expire_waiting(older_than=deadline)
    assert [e.item for e in expired] == ["first", "second"]
    assert [e.item for e in s.waiting] == ["third", "fourth"]  # "third" arrived at the deadline
    assert running(s) == [("running", 0)]  # a running sequence never expires
    assert s.expire_waiting(older_than=deadline) == []
    assert [e.item for e in s.expire_waiting(older_than=clock.advance(1))] == ["third", "fourth"]


def test_removed_waiting_requests_leave_the_queue_the_others_keep_their_order() -> None:
    s, _ = scheduler(slots=1)
    queue(s, ("a", 1), ("gone-1", 1), ("b", 1), ("gone-2", 1))
    removed = s.remove_waiting(lambda item: item.startswith("gone"))
    assert [e.item for e in removed] == ["gone-1", "gone-2"]
    assert [e.item for e in s.waiting] == ["a", "b"]
    assert s.has_work


def test_a_finished_decoding_sequence_leaves_decoding_first_and_both_runs_without_gaps() -> None:
    s, moves = scheduler(slots=5, max_prefill_tokens=100)
    queue(s, ("a", 1), ("b", 1), ("c", 1))
    s.admit()
    prefill(s)  # a, b, c decode
    queue(s, ("x", 150), ("y", 300))
    assert [e.item for e in s.admit()] == ["x"]
    prefill(s)  # x has 100 of 150
    assert [e.item for e in s.admit()] == ["y"]  # x and y both reading
    a = s.running[0]
    s.release([a])
    # c, the last decoding one, takes a's slot; y, the last running one, takes c's
    assert moves.moves == [("c", 2, 0), ("y", 4, 2)]
    assert running(s) == [("c", 0), ("b", 1), ("y", 2), ("x", 3)]
    assert [e.item for e in s.decoding()] == ["c", "b"]
    # chunks start right after the decoding slots, in slot order
    assert [(c.entry.item, c.entry.slot) for c in s.chunks()] == [("y", 2)]


def test_a_cancelled_reading_sequence_leaves_its_slot_to_the_last_running_one() -> None:
    s, moves = scheduler(slots=5, max_prefill_tokens=10)
    queue(s, ("a", 1), ("x", 12), ("y", 5))
    assert [e.item for e in s.admit()] == ["a", "x"]
    prefill(s)  # a decodes; x has 9 of 12
    assert [e.item for e in s.admit()] == ["y"]
    x = s.running[1]
    s.release([x])
    assert moves.moves == [("y", 2, 1)]
    assert running(s) == [("a", 0), ("y", 1)]
    assert prefill(s) == [("y", 0, 5)]
