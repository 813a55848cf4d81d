"""Sentence embeddings from an encoder (`modeling.encoders.sentence_vectors`), one batch at
a time for the whole server."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelmint.modeling.encoders import load_encoder, sentence_vectors


@dataclass(frozen=True)
class Embeddings:
    vectors: list[list[float]]
    prompt_tokens: int


class Embedder:
    def __init__(self, path: str | Path, *, batch_size: int = 32) -> None:
        self.model, self.tokenizer = load_encoder(path)
        self.batch_size = batch_size
        self.max_length = int(min(self.tokenizer.model_max_length, 512))
        self.dimensions = int(self.model.config.hidden_size)
        self._lock = threading.Lock()  # one batch at a time uses the cores best

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, truncation=True, max_length=self.max_length)["input_ids"])

    def embed(self, texts: Sequence[str]) -> Embeddings:
        with self._lock:
            vectors, tokens = sentence_vectors(
                self.model, self.tokenizer, texts, batch_size=self.batch_size
            )
        return Embeddings(vectors.tolist(), tokens)
