"""Quantization: the same model with its Linear weights in fewer bits.

- ``int8-dynamic``: torch's dynamic quantization. Weights int8, one scale per output channel;
  activations quantized per call; matrix products in int8 (fbgemm/onednn, VNNI on CPUs that
  have it). The output layer is quantized too: at batch 1 it is the largest single matrix
  product. Stored by ``modelmint.modeling.quantized`` (int8 plus scales).
- ``int8-weight-only``: torchao's ``Int8WeightOnlyConfig`` through transformers' torchao
  support; saved and loaded by transformers itself. Activations stay float. On CPU it saves
  disk and memory but decodes slower than float32 (torchao has no fast CPU kernel for it).
  torchao keeps the tied embedding and output layer in float: its option to quantize them
  loses the output layer on reload in this transformers version.
- ``int4-weight-only`` has no working CPU path here, and is refused with the reason rather
  than stored as something it is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

from modelmint.catalog import Catalog, ModelRef
from modelmint.compression.methods import METHODS, QuantizationMethod
from modelmint.compression.versions import (
    Compressed,
    CompressionError,
    check_source,
    compress_to_version,
    default_name,
)
from modelmint.modeling import count_parameters, load_causal_lm
from modelmint.modeling.quantized import quiet_torch_quantization, save_int8
from modelmint.observability import ProgressEvent, ProgressFn, no_progress


def _method(name: str) -> QuantizationMethod:
    if name not in METHODS:
        raise CompressionError(
            f"unknown quantization method {name!r}; choose one of {', '.join(METHODS)}"
        )
    method = METHODS[name]
    if method.unsupported:
        raise CompressionError(method.unsupported)
    return method


# The MLP's output projection reads the largest activation outliers in a decoder, and
# int8-dynamic quantizes activations per token: on the trained `small` model, leaving it in
# float32 (8 of 57 layers) removed nearly all of int8's perplexity cost (docs/benchmarks.md,
# "Compression").
FLOAT_BY_DEFAULT = ("down_proj",)


def quantize_int8_dynamic(
    model: Any, *, output_layer: bool = True, keep_float: tuple[str, ...] = FLOAT_BY_DEFAULT
) -> Any:
    """Replaces the model's Linear layers (in place) with torch's dynamically quantized int8
    Linear, per-channel symmetric weights, except those whose name ends with one of
    ``keep_float``; returns the model."""
    head = model.get_output_embeddings()
    spec = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
        and (output_layer or module is not head)
        and not name.endswith(keep_float)
    }
    with quiet_torch_quantization():
        return quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)


def _write_int8_dynamic(source: ModelRef, facts: dict[str, Any], out: Path) -> int:
    model = load_causal_lm(source.path)
    n = count_parameters(model)
    quantize_int8_dynamic(
        model, output_layer=facts["output_layer"], keep_float=tuple(facts["keep_float"])
    )
    save_int8(model, out, facts)
    return n


def _write_int8_weight_only(source: ModelRef, out: Path) -> int:
    try:
        from torchao.quantization import Int8WeightOnlyConfig
        from transformers import AutoModelForCausalLM, TorchAoConfig
    except ImportError:
        raise CompressionError(
            "int8-weight-only needs torchao, an optional dependency: "
            "pip install 'modelmint[torchao]'"
        ) from None
    n = count_parameters(load_causal_lm(source.path))
    model = AutoModelForCausalLM.from_pretrained(
        str(source.path),
        local_files_only=True,
        dtype=torch.float32,
        quantization_config=TorchAoConfig(Int8WeightOnlyConfig()),
    )
    model.save_pretrained(str(out))
    return n


def quantize(
    catalog: Catalog,
    source: ModelRef,
    method: str,
    *,
    name: str | None = None,
    output_layer: bool = True,
    keep_float: tuple[str, ...] = FLOAT_BY_DEFAULT,
    progress: ProgressFn = no_progress,
) -> Compressed:
    """A new version of ``name`` (default: the source's name with the method appended): the
    source quantized by ``method``, its parent the source."""
    spec = _method(method)
    check_source(source)
    facts: dict[str, Any] = {"method": spec.name, "bits": spec.bits}
    if spec.name == "int8-dynamic":
        facts["output_layer"] = output_layer
        facts["keep_float"] = list(keep_float)
    progress(ProgressEvent(f"quantize {spec.name}", 0, 1))

    def write(out: Path) -> int:
        if spec.name == "int8-dynamic":
            return _write_int8_dynamic(source, facts, out)
        return _write_int8_weight_only(source, out)

    done = compress_to_version(
        catalog, source, name=name or default_name(source, spec.name), facts=facts, write=write
    )
    progress(ProgressEvent(f"quantize {spec.name}", 1, 1))
    return done
