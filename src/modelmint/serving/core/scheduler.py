"""Which sequences run in the next step: continuous batching with chunked prefill.

Requests wait in arrival order. Every step has a budget of prompt tokens
(``max_prefill_tokens``). A step decodes one token for every sequence past its prompt and
spends the budget on prompts still being read, a chunk each, in slot order; waiting
requests are admitted into free slots while the prompts already admitted leave some of
that budget unspent. So a long prompt is read over several steps that decode everyone
else too: it never stalls the streams in flight, and the weights are read once per step
for both kinds of work.

Running sequences fill slots ``0..n-1`` without gaps (the cache then needs no gather), the
decoding ones first: slots ``0..d-1`` decode and ``d..`` read their prompts. Chunks are
handed out in slot order, so the sequences that finish their prompts in a step are always
the first of those reading, and they join the decoding ones where they are. A finished or
cancelled sequence leaves at once; to keep both runs without gaps its slot takes the last
decoding sequence, whose slot takes the last running one. Knows nothing of tensors."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Scheduled(Generic[T]):
    """A request's place in the scheduler: ``slot`` is None while it waits; ``prefilled``
    counts its prompt tokens already in the cache."""

    item: T
    prompt_len: int
    arrived: float = field(default_factory=time.monotonic)
    slot: int | None = None
    prefilled: int = 0

    @property
    def decoding(self) -> bool:
        return self.prefilled >= self.prompt_len


@dataclass(frozen=True)
class Chunk(Generic[T]):
    """``length`` prompt tokens of ``entry`` from ``start``, read in this step."""

    entry: Scheduled[T]
    start: int
    length: int

    @property
    def completes(self) -> bool:
        return self.start + self.length >= self.entry.prompt_len


class Scheduler(Generic[T]):
    def __init__(
        self,
        *,
        slots: int,
        max_prefill_tokens: int,
        move_slot: Callable[[Scheduled[T], int], None],
    ) -> None:
        self.slots, self.max_prefill_tokens = slots, max_prefill_tokens
        self.waiting: deque[Scheduled[T]] = deque()
        self.running: list[Scheduled[T]] = []
        self._move_slot = move_slot  # copies a sequence's cache rows to a new slot

    @property
    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    def decoding(self) -> list[Scheduled[T]]:
        """The sequences past their prompts: slots ``0..d-1``."""
        d = 0
        while d < len(self.running) and self.running[d].decoding:
            d += 1
        return self.running[:d]

    def admit(self) -> list[Scheduled[T]]:
        """Moves waiting requests into free slots ``n, n+1, …``, in arrival order, while the
        prompt tokens left to read leave some of a step's budget unspent."""
        admitted: list[Scheduled[T]] = []
        pending = sum(e.prompt_len - e.prefilled for e in self.running if not e.decoding)
        while self.waiting and len(self.running) < self.slots:
            if pending >= self.max_prefill_tokens:
                break
            entry = self.waiting.popleft()
            pending += entry.prompt_len
            entry.slot = len(self.running)
            self.running.append(entry)
            admitted.append(entry)
        return admitted

    def chunks(self) -> list[Chunk[T]]:
        """This step's prompt chunks, in slot order from the first sequence still reading
        its prompt, until the budget is spent: their slots follow the decoding ones'
        without a gap."""
        out: list[Chunk[T]] = []
        budget = self.max_prefill_tokens
        for entry in self.running[len(self.decoding()) :]:
            if budget <= 0:
                break
            n = min(entry.prompt_len - entry.prefilled, budget)
            out.append(Chunk(entry, entry.prefilled, n))
            budget -= n
        return out

    def expire_waiting(self, older_than: float) -> list[Scheduled[T]]:
        """Takes out the requests that have waited since before ``older_than``."""
        expired = [e for e in self.waiting if e.arrived < older_than]
        if expired:
            self.waiting = deque(e for e in self.waiting if e.arrived >= older_than)
        return expired

    def remove_waiting(self, gone: Callable[[T], bool]) -> list[Scheduled[T]]:
        removed = [e for e in self.waiting if gone(e.item)]
        if removed:
            self.waiting = deque(e for e in self.waiting if not gone(e.item))
        return removed

    def release(self, finished: list[Scheduled[T]]) -> None:
        """Frees the slots of finished sequences. A decoding sequence's slot takes the last
        decoding one, and the slot that frees takes the last running one: decoding
        sequences stay first, and neither run has a gap."""
        for entry in sorted(finished, key=lambda e: e.slot or 0, reverse=True):
            assert entry.slot is not None and self.running[entry.slot] is entry
            if entry.decoding:
                d = len(self.decoding())  # entry is one of them
                last_decoding = self.running[d - 1]
                if last_decoding is not entry:
                    self._move(last_decoding, entry.slot)
                    entry.slot = d - 1
                    self.running[d - 1] = entry
            last = self.running.pop()
            if last is not entry:
                self._move(last, entry.slot)
            entry.slot = None

    def _move(self, entry: Scheduled[T], dst: int) -> None:
        self._move_slot(entry, dst)
        entry.slot = dst
        self.running[dst] = entry
