"""Train a byte-level BPE tokenizer. Byte-level means every string, Chinese included,
encodes and decodes back exactly: there is no unknown character."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from modelmint.modeling import SPECIAL_TOKENS, wrap_tokenizer


@dataclass(frozen=True)
class TokenizerResult:
    path: Path
    vocab_size: int


def train_tokenizer(
    texts: Iterable[str], out_dir: Path, vocab_size: int = 8192, min_frequency: int = 2
) -> TokenizerResult:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = wrap_tokenizer(tok)
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out_dir))
    return TokenizerResult(path=out_dir, vocab_size=len(fast))
