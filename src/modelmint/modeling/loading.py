"""Building, loading and measuring causal LMs saved in Hugging Face format."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, PretrainedConfig, PreTrainedModel

from modelmint.modeling.quantized import is_int8_dir, load_int8


def build_causal_lm(config: PretrainedConfig, seed: int = 0) -> PreTrainedModel:
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config)


def load_causal_lm(path: str | Path, dtype: torch.dtype = torch.float32) -> PreTrainedModel:
    """A causal LM in Hugging Face format, pruned ones included, or an int8 version made by
    ``mint compress quantize``. An int8 model computes in float32 whatever ``dtype`` asks
    (its int8 kernels take float32 activations): read the model's own ``dtype`` after
    loading, not the one asked for. torchao-quantized directories load through
    transformers' own torchao support."""
    if is_int8_dir(path):
        return load_int8(path)
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=dtype)
    model.eval()
    return model


def count_parameters(model: torch.nn.Module) -> int:
    """Unique parameters: a tied embedding counts once."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def _cpu_flags() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_supports_bf16() -> bool:
    """Whether the CPU has native bf16 instructions (AVX512-BF16 or AMX): bf16 weights
    then halve what decoding reads from memory at no cost in arithmetic."""
    flags = _cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_trains_faster_in_bf16() -> bool:
    """Whether bf16 autocast speeds training up on this CPU: only with AMX's matrix tiles.
    With AVX512-BF16 alone, the same compiled training step ran 1.35x slower in bf16 than
    in float32 (docs/benchmarks.md, "Training")."""
    return "amx_bf16" in _cpu_flags()
