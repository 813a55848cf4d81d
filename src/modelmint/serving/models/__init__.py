"""The model code a core runs: the batch runner over sequences at different positions, the
written-out decoding step of the open-weight families, the slot KV cache, and the sentence
encoder behind embeddings."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.serving.models.decoder_step import DecoderStep, supports
    from modelmint.serving.models.embeddings import Embedder, Embeddings
    from modelmint.serving.models.kv_cache import SlotKVCache
    from modelmint.serving.models.model_runner import ModelRunner, RowInput

__all__ = [
    "DecoderStep",
    "Embedder",
    "Embeddings",
    "ModelRunner",
    "RowInput",
    "SlotKVCache",
    "supports",
]

lazy_exports(__name__)
