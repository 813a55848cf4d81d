"""A Hugging Face causal LM as one GGUF file, the format llama.cpp and Ollama run.

It follows llama.cpp's ``convert_hf_to_gguf.py`` for the architectures modelmint serves, so
the file loads in llama.cpp as one converted there would: the same architecture names
(Llama, SmolLM and Mistral are all ``llama``; each family's ``GgufLayout`` in
:mod:`modelmint.modeling.families`), tensor names (gguf's ``TensorNameMap``),
metadata keys, and the same changes to the weights:

- llama: the query and key rows are permuted from Hugging Face's half-split rotary layout to
  the interleaved one llama.cpp's ``llama`` graph rotates (transformers' GGUF loader undoes
  exactly this); Llama 3's rope scaling travels as the ``rope_freqs`` tensor of per-frequency
  divisors;
- gemma2/gemma3: the RMSNorm weights get +1, as Gemma computes ``x * (1 + w)`` and llama.cpp
  ``x * w``; Gemma 2's output layer is always the embedding;
- 1-D tensors and norms stay float32; with q8_0 a matrix whose rows are not a multiple of 32
  long falls back to float16, as in llama.cpp.

Where llama.cpp hard-codes what a config could set otherwise (Gemma's sliding-window layer
pattern and attention scale, Gemma 3's local rope base; no sliding window at all for llama
and qwen), the export still writes the file and says in ``caveats`` how llama.cpp's
outputs will differ from the model's. Each tensor is read, converted and written before
the next is read (see :mod:`modelmint.modeling.checkpoint_tensors`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import torch
from transformers import AutoConfig, PretrainedConfig

from modelmint.modeling.checkpoint_tensors import ExportError, SourceTensor, source_tensors
from modelmint.modeling.families import (
    TEXT_MODEL_INSIDE,
    GgufLayout,
    ModelFamily,
    family_of,
    supported_model_types,
)
from modelmint.modeling.gguf_vocab import Vocabulary, write_vocabulary
from modelmint.observability.progress import ProgressEvent, ProgressFn, no_progress

QT = gguf.GGMLQuantizationType
QUANTS: dict[str, tuple[gguf.LlamaFileType, gguf.GGMLQuantizationType]] = {
    "f16": (gguf.LlamaFileType.MOSTLY_F16, QT.F16),
    "bf16": (gguf.LlamaFileType.MOSTLY_BF16, QT.BF16),
    "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, QT.Q8_0),
}


# llama.cpp's architectures by the name GGUF files carry (``GgufLayout.architecture``)
ARCHES: dict[str, gguf.MODEL_ARCH] = {name: arch for arch, name in gguf.MODEL_ARCH_NAMES.items()}


def _arch(layout: GgufLayout) -> gguf.MODEL_ARCH:
    return ARCHES[layout.architecture]


@dataclass(frozen=True)
class PlannedTensor:
    name: str  # as the GGUF names it
    shape: tuple[int, ...]
    qtype: gguf.GGMLQuantizationType
    read: Callable[[], np.ndarray]  # float32, transformed as llama.cpp wants it

    @property
    def nbytes(self) -> int:
        block, size = gguf.GGML_QUANT_SIZES[self.qtype]
        return math.prod(self.shape) // block * size


@dataclass(frozen=True)
class GGUFExport:
    path: Path
    architecture: str  # GGUF's name for it
    quant: str
    tensors: int
    parameters: int
    vocabulary: Vocabulary
    caveats: list[str] = field(default_factory=list)  # how llama.cpp will differ


def read_config(model_dir: Path) -> tuple[PretrainedConfig, ModelFamily]:
    """The model's config and its family, or why it cannot be exported."""
    config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
    family = family_of(config.model_type)
    if family is None:
        inside = TEXT_MODEL_INSIDE.get(config.model_type)
        raise ExportError(
            f"architecture {config.model_type!r} ({', '.join(config.architectures or [])}) "
            f"cannot be exported to GGUF; supported: {', '.join(supported_model_types())}"
            + (f" (the text model inside it is {inside})" if inside else "")
        )
    return config, family


def _rope(config: PretrainedConfig, layer_type: str) -> dict[str, Any]:
    """The rope parameters of one kind of layer, in transformers 5's spelling."""
    params = dict(getattr(config, "rope_parameters", None) or {})
    if "full_attention" in params or "sliding_attention" in params:
        return dict(params.get(layer_type) or {})
    return params if layer_type == "full_attention" else {}


def head_dim(config: PretrainedConfig) -> int:
    return int(
        getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    )


def llama3_rope_factors(config: PretrainedConfig) -> torch.Tensor:
    """Per-frequency divisors llama.cpp applies for Llama 3's rope scaling (its converter's
    ``generate_extra_tensors``, with the original context length read from the rope
    parameters, where transformers reads it, rather than the top of the config)."""
    rope = _rope(config, "full_attention")
    dim = head_dim(config)
    freqs = 1.0 / (rope["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor = rope.get("factor", 8.0)
    low, high = rope.get("low_freq_factor", 1.0), rope.get("high_freq_factor", 4.0)
    old_context = rope.get("original_max_position_embeddings", 8192)
    factors = []
    for freq in freqs.tolist():
        wavelen = 2 * math.pi / freq
        if wavelen < old_context / high:
            factors.append(1.0)
        elif wavelen > old_context / low:
            factors.append(factor)
        else:
            smooth = (old_context / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(factors, dtype=torch.float32)


def _write_rope(w: gguf.GGUFWriter, config: PretrainedConfig, layout: GgufLayout) -> None:
    rope = _rope(config, "full_attention")
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(rope["factor"])
    elif kind == "yarn":
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(rope["factor"])
        w.add_rope_scaling_orig_ctx_len(rope["original_max_position_embeddings"])
        for key, add in (
            ("extrapolation_factor", w.add_rope_scaling_yarn_ext_factor),
            ("attention_factor", w.add_rope_scaling_yarn_attn_factor),
            ("beta_fast", w.add_rope_scaling_yarn_beta_fast),
            ("beta_slow", w.add_rope_scaling_yarn_beta_slow),
        ):
            if rope.get(key) is not None:
                add(rope[key])
    elif not (kind == "default" or (kind == "llama3" and layout.permute_qk)):
        raise ExportError(
            f"rope scaling {kind!r} of a {config.model_type} model cannot be written to GGUF "
            "here; supported: none, linear, yarn, and llama3 for Llama"
        )
    if rope.get("rope_theta") is not None:
        w.add_rope_freq_base(rope["rope_theta"])
    local = _rope(config, "sliding_attention")
    if local.get("rope_theta") is not None:
        w.add_rope_freq_base_swa(local["rope_theta"])


def _write_hparams(
    w: gguf.GGUFWriter, config: PretrainedConfig, layout: GgufLayout, ftype: gguf.LlamaFileType
) -> None:
    """llama.cpp's ``set_gguf_parameters`` for the families above."""
    dim = head_dim(config)
    w.add_block_count(config.num_hidden_layers)
    w.add_context_length(config.max_position_embeddings)
    w.add_embedding_length(config.hidden_size)
    w.add_feed_forward_length(config.intermediate_size)
    w.add_head_count(config.num_attention_heads)
    w.add_head_count_kv(getattr(config, "num_key_value_heads", None) or config.num_attention_heads)
    _write_rope(w, config, layout)
    w.add_layer_norm_rms_eps(config.rms_norm_eps)
    w.add_key_length(dim)
    w.add_value_length(dim)
    w.add_file_type(ftype)
    if _arch(layout) == gguf.MODEL_ARCH.LLAMA:
        w.add_vocab_size(config.vocab_size)
        w.add_rope_dimension_count(dim)
    if _arch(layout) == gguf.MODEL_ARCH.GEMMA2:
        if config.attn_logit_softcapping is not None:
            w.add_attn_logit_softcapping(config.attn_logit_softcapping)
        if config.final_logit_softcapping is not None:
            w.add_final_logit_softcapping(config.final_logit_softcapping)
        w.add_sliding_window(config.sliding_window)
    if _arch(layout) == gguf.MODEL_ARCH.GEMMA3:
        if getattr(config, "attn_logit_softcapping", None) is not None:
            raise ExportError("Gemma 3 has no attention soft-capping; this config sets one")
        if config.final_logit_softcapping:
            w.add_final_logit_softcapping(config.final_logit_softcapping)
        if "sliding_attention" in (getattr(config, "layer_types", None) or []):
            w.add_sliding_window(config.sliding_window)


def llama_cpp_caveats(config: PretrainedConfig, layout: GgufLayout) -> list[str]:
    """What llama.cpp assumes for this architecture that this model's config says otherwise."""
    notes = []
    window = getattr(config, "sliding_window", None)
    layer_types = list(getattr(config, "layer_types", None) or [])
    sliding = [t == "sliding_attention" for t in layer_types]
    if layout.swa_pattern:
        n = layout.swa_pattern
        assumed = [i % n < n - 1 for i in range(config.num_hidden_layers)]
        if sliding and sliding != assumed:
            notes.append(
                f"llama.cpp makes every {n}th layer of {layout.architecture} global and "
                f"the rest sliding; this model's layer types are {layer_types}, so llama.cpp's "
                f"outputs differ once a prompt is longer than the {window}-token window"
            )
        big = config.num_hidden_layers == (46 if _arch(layout) == gguf.MODEL_ARCH.GEMMA2 else 62)
        scalar = config.hidden_size / config.num_attention_heads if big else head_dim(config)
        if config.query_pre_attn_scalar != scalar:
            notes.append(
                f"llama.cpp scales attention by 1/sqrt({scalar:g}) for this size; the model's "
                f"query_pre_attn_scalar is {config.query_pre_attn_scalar}"
            )
        local = _rope(config, "sliding_attention").get("rope_theta")
        if _arch(layout) == gguf.MODEL_ARCH.GEMMA3 and local not in (None, 10000.0):
            notes.append(f"llama.cpp's Gemma 3 local layers use rope base 10000, not {local:g}")
    elif (
        window
        and (any(sliding) or getattr(config, "use_sliding_window", True))
        and window < config.max_position_embeddings
    ):
        notes.append(
            f"llama.cpp attends over the whole context for {config.model_type}; this model "
            f"was trained with a {window}-token sliding window, so outputs differ for "
            f"prompts longer than {window} tokens"
        )
    return notes


def _permute(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """llama.cpp's ``LlamaModel.permute``: each head's rotary halves, interleaved."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def _transform(
    source: SourceTensor, config: PretrainedConfig, layout: GgufLayout
) -> Callable[[], np.ndarray]:
    name = source.name

    def read() -> np.ndarray:
        data = source.read()
        if layout.permute_qk and name.endswith(("q_proj.weight", "q_proj.bias")):
            data = _permute(data, config.num_attention_heads)
        if layout.permute_qk and name.endswith(("k_proj.weight", "k_proj.bias")):
            data = _permute(data, config.num_key_value_heads or config.num_attention_heads)
        if layout.norm_shift and name.endswith("norm.weight"):
            data = data + layout.norm_shift
        return data.float().contiguous().numpy()

    return read


def _qtype(name: str, shape: tuple[int, ...], wanted: gguf.GGMLQuantizationType) -> QT:
    if len(shape) <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight"):
        return QT.F32
    if wanted == QT.Q8_0 and shape[-1] % gguf.GGML_QUANT_SIZES[QT.Q8_0][0]:
        return QT.F16
    return wanted


def plan_tensors(
    model_dir: Path, config: PretrainedConfig, layout: GgufLayout, wanted: gguf.GGMLQuantizationType
) -> list[PlannedTensor]:
    n_layers = config.num_hidden_layers
    names = gguf.get_tensor_name_map(_arch(layout), n_layers)
    allowed = {
        gguf.TENSOR_NAMES[t].format(bid=b)
        for t in gguf.MODEL_TENSORS[_arch(layout)]
        for b in range(n_layers)
    }
    tied = bool(getattr(config, "tie_word_embeddings", False))
    sources = source_tensors(model_dir)
    if layout.always_tied and not tied and any(s.name == "lm_head.weight" for s in sources):
        raise ExportError(
            f"llama.cpp's {layout.architecture} reuses the embedding as the output layer; "
            "this model has a separate one (tie_word_embeddings is false)"
        )
    plan: list[PlannedTensor] = []
    unknown: list[str] = []
    for source in sources:
        if source.name == "lm_head.weight" and (tied or layout.always_tied):
            continue
        base, _, suffix = source.name.rpartition(".")
        mapped = names.get_name(base) if suffix in ("weight", "bias") else None
        if mapped is None or mapped not in allowed:
            unknown.append(source.name)
            continue
        gguf_name = f"{mapped}.{suffix}"
        qtype = _qtype(gguf_name, source.shape, wanted)
        plan.append(
            PlannedTensor(gguf_name, source.shape, qtype, _transform(source, config, layout))
        )
    if unknown:
        raise ExportError(
            f"{len(unknown)} tensors have no place in llama.cpp's {layout.architecture} "
            f"architecture: {', '.join(unknown[:5])}"
        )
    if _rope(config, "full_attention").get("rope_type") == "llama3":
        factors = llama3_rope_factors(config)
        plan.insert(
            0, PlannedTensor("rope_freqs.weight", tuple(factors.shape), QT.F32, factors.numpy)
        )
    return plan


def export_gguf(
    model_dir: Path,
    out: Path,
    *,
    quant: str = "f16",
    name: str | None = None,
    progress: ProgressFn = no_progress,
) -> GGUFExport:
    """Writes the model at ``model_dir`` to the GGUF file ``out`` with ``quant`` weights."""
    if quant not in QUANTS:
        raise ExportError(f"quantization {quant!r} is not one of {', '.join(QUANTS)}")
    ftype, wanted = QUANTS[quant]
    config, family = read_config(model_dir)
    layout = family.gguf
    plan = plan_tensors(model_dir, config, layout, wanted)
    arch = layout.architecture
    writer = gguf.GGUFWriter(path=None, arch=arch)
    parameters = sum(math.prod(t.shape) for t in plan if t.name != "rope_freqs.weight")
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name or model_dir.name)
    writer.add_size_label(gguf.size_label(parameters, 0, 0, 0))
    _write_hparams(writer, config, layout, ftype)
    vocabulary = write_vocabulary(writer, model_dir, config.vocab_size)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for t in plan:
        writer.add_tensor_info(t.name, t.shape, np.dtype(np.float32), t.nbytes, raw_dtype=t.qtype)
    try:
        writer.write_header_to_file(path=out)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for i, t in enumerate(plan):
            progress(ProgressEvent("writing tensors", i, len(plan), {"tensor": t.name}))
            writer.write_tensor_data(gguf.quants.quantize(t.read(), t.qtype))
        progress(ProgressEvent("writing tensors", len(plan), len(plan)))
    finally:
        writer.close()
    return GGUFExport(
        out, arch, quant, len(plan), parameters, vocabulary, llama_cpp_caveats(config, layout)
    )


__all__ = ["QUANTS", "ExportError", "GGUFExport", "export_gguf", "read_config"]
