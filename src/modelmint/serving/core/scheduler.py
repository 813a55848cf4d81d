"""Which sequences run in the next step: continuous batching.

Requests wait in arrival order. At every step, waiting requests are
admitted while slots are free and their prompts fit the step's prefill budget; every
running sequence decodes one token; a finished or cancelled one leaves at once and the
last running sequence moves into its slot, so running sequences always fill slots
``0..n-1`` (the cache then needs no gather). Knows nothing of tensors."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Scheduled(Generic[T]):
    """A request's place in the scheduler: ``slot`` is None while it waits."""

    item: T
    prompt_len: int
    arrived: float = field(default_factory=time.monotonic)
    slot: int | None = None


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

    def admit(self) -> list[Scheduled[T]]:
        """Moves waiting requests into free slots ``n, n+1, …`` while their prompts fit the
        prefill budget (the first always fits, however long)."""
        admitted: list[Scheduled[T]] = []
        budget = self.max_prefill_tokens
        while self.waiting and len(self.running) < self.slots:
            entry = self.waiting[0]
            if admitted and entry.prompt_len > budget:
                break
            self.waiting.popleft()
            budget -= entry.prompt_len
            entry.slot = len(self.running)
            self.running.append(entry)
            admitted.append(entry)
        return admitted

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
        """Frees the slots of finished sequences, filling each gap with the last running one."""
        for entry in sorted(finished, key=lambda e: e.slot or 0, reverse=True):
            assert entry.slot is not None and self.running[entry.slot] is entry
            last = self.running.pop()
            if last is not entry:
                self._move_slot(last, entry.slot)
                last.slot = entry.slot
                self.running[entry.slot] = last
            entry.slot = None
