"""Compression stage: smaller, cheaper versions of a model (int8 quantization, pruning),
each registered as a new model version whose parent is the model it was made from."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.compression.methods import METHODS, QuantizationMethod
    from modelmint.compression.prune import (
        measured_sparsity,
        prune,
        prune_structured,
        prune_unstructured,
    )
    from modelmint.compression.quantize import FLOAT_BY_DEFAULT, quantize
    from modelmint.compression.speed import compare_decode_speed, decode_tokens_per_second
    from modelmint.compression.versions import Compressed, CompressionError, directory_bytes

__all__ = [
    "FLOAT_BY_DEFAULT",
    "METHODS",
    "Compressed",
    "CompressionError",
    "QuantizationMethod",
    "compare_decode_speed",
    "decode_tokens_per_second",
    "directory_bytes",
    "measured_sparsity",
    "prune",
    "prune_structured",
    "prune_unstructured",
    "quantize",
]

lazy_exports(__name__)
