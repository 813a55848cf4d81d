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


def test_the_first_prompt_is_admitted_however_long_and_the_budget_stops_the_rest() -> None:
    s, _ = scheduler(slots=4, max_prefill_tokens=10)
    queue(s, ("long", 50), ("short", 1))
    assert [e.item for e in s.admit()] == ["long"]  # over budget alone: still admitted
    assert [e.item for e in s.admit()] == ["short"]  # the next step's budget


def test_a_prompt_over_the_budget_left_blocks_the_queue_no_later_one_jumps_ahead() -> None:
    s, _ = scheduler(slots=4, max_prefill_tokens=10)
    queue(s, ("a", 6), ("b", 6), ("c", 2))
    # c (2 tokens) would fit beside a, but admission is strictly in arrival order
    assert [e.item for e in s.admit()] == ["a"]
    assert [e.item for e in s.waiting] == ["b", "c"]
    assert [e.item for e in s.admit()] == ["b", "c"]  # 6 + 2 fit the next step's budget
    assert running(s) == [("a", 0), ("b", 1), ("c", 2)]


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
