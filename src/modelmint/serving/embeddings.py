"""Sentence embeddings from an encoder: mean of the last hidden states over real tokens,
L2-normalized (how all-MiniLM-L6-v2 was trained to be used). Inputs are sorted by length
and run in batches, so a long text does not pad a batch of short ones."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from modelmint.modeling.encoders import load_encoder


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

    @torch.inference_mode()
    def embed(self, texts: Sequence[str]) -> Embeddings:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        tokens = 0
        with self._lock:
            for lo in range(0, len(order), self.batch_size):
                batch = [texts[i] for i in order[lo : lo + self.batch_size]]
                enc = self.tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                tokens += int(enc["attention_mask"].sum())
                for row, i in enumerate(order[lo : lo + self.batch_size]):
                    vectors[i] = pooled[row].tolist()
        return Embeddings(vectors, tokens)
