"""Training stage: tokenizers and models."""

from modelmint.training.pretrain import (
    PretrainConfig,
    PretrainResult,
    pack_blocks,
    pretrain_causal_lm,
)
from modelmint.training.tokenizer import TokenizerResult, train_tokenizer

__all__ = [
    "PretrainConfig",
    "PretrainResult",
    "TokenizerResult",
    "pack_blocks",
    "pretrain_causal_lm",
    "train_tokenizer",
]
