"""Turning generated tokens into text pieces safely: never half a UTF-8 character, never a
piece of a stop string that may still complete."""

from __future__ import annotations

from collections.abc import Callable, Sequence


class IncrementalDecoder:
    """Feed it tokens one by one; it says which new text may be sent now.

    Byte-level BPE can end a step on part of a multi-byte character, which decodes to
    U+FFFD; that tail is held back until the character completes. A tail that could be the
    start of a stop string is held back too, until it is clearly not one.

    Each push decodes only the last few tokens, twice: the ones already turned into text
    and those plus the new ones, and keeps the difference (as vLLM and TGI do). Decoding a
    window alone would lose what some tokenizers do at a boundary (a SentencePiece word
    start); decoding everything on every token costs O(n) per token, which comes to
    dominate long answers (docs/benchmarks.md, "One decoding step")."""

    def __init__(self, decode: Callable[[list[int]], str], stops: Sequence[str] = ()) -> None:
        self.decode = decode
        self.stops = [s for s in stops if s]
        self.ids: list[int] = []
        self.text = ""  # decoded text so far, without a partial character at the end
        self.sent = 0  # how much of self.text has been handed out
        self.stopped = False
        self._prefix = 0  # ids[_prefix:_read] decode to the end of _done
        self._read = 0
        self._done = ""  # the text of ids[:_read], which later tokens cannot change

    def push(self, token: int) -> str:
        self.ids.append(token)
        before = self.decode(self.ids[self._prefix : self._read])
        after = self.decode(self.ids[self._prefix :])
        if after.startswith(before):
            tail = after[len(before) :]
        else:  # a tokenizer that rewrites earlier text: decode it all, this once
            tail = self.decode(self.ids)[len(self._done) :]
        if tail.endswith("\ufffd"):  # a character still incomplete: keep its tokens
            self.text = self._done + tail.rstrip("\ufffd")
        else:
            self._done += tail
            self.text = self._done
            self._prefix, self._read = self._read, len(self.ids)
        cut = self._find_stop()
        if cut is not None:
            self.text, self.stopped = self.text[:cut], True
            return self._take(len(self.text))
        return self._take(self._safe_end())

    def flush(self) -> str:
        """The rest, when generation ends without a stop string (length or end token)."""
        if not self.stopped:
            self.text = self.decode(self.ids)
        return self._take(len(self.text))

    def _take(self, end: int) -> str:
        piece = self.text[self.sent : end] if end > self.sent else ""
        self.sent = max(self.sent, end)
        return piece

    def _find_stop(self) -> int | None:
        if not self.stops:
            return None
        # A stop can only end in unsent text, but may begin up to len(stop)-1 before it.
        start = max(0, self.sent - max(len(s) for s in self.stops) + 1)
        hits = [i for s in self.stops if (i := self.text.find(s, start)) != -1]
        return min(hits) if hits else None

    def _safe_end(self) -> int:
        end = len(self.text)
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.text) - self.sent), 0, -1):
                if self.text.endswith(s[:k]):
                    end = min(end, len(self.text) - k)
                    break
        return end
