"""The model code a core runs: the batch runner over sequences at different positions, the
written-out Llama decoding step, the slot KV cache, and the sentence encoder behind embeddings."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.serving.models.embeddings import Embedder, Embeddings
    from modelmint.serving.models.kv_cache import SlotKVCache
    from modelmint.serving.models.llama_decode import LlamaDecoder, supports
    from modelmint.serving.models.model_runner import ModelRunner, RowInput

__all__ = [
    "Embedder",
    "Embeddings",
    "LlamaDecoder",
    "ModelRunner",
    "RowInput",
    "SlotKVCache",
    "supports",
]

lazy_exports(__name__)
