"""A GGUF file read back as llama.cpp would compute it: through transformers' GGUF loader,
with what that loader leaves out (soft-caps, Qwen3's head size, Gemma's layer pattern)
filled in from the file after checking it there, beside the model with its matrices
rounded as the file stores them."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel

QUANT_TYPES = {
    "f16": gguf.GGMLQuantizationType.F16,
    "bf16": gguf.GGMLQuantizationType.BF16,
    "q8_0": gguf.GGMLQuantizationType.Q8_0,
}


def fields(path: Path) -> dict[str, Any]:
    reader = gguf.GGUFReader(str(path))
    return {k: f.contents() for k, f in reader.fields.items()}


def reference(model_dir: Path, family: str) -> PreTrainedModel:
    # llama.cpp's llama graph has no sliding window: the export says so for Mistral, and the
    # file is compared with what llama.cpp will compute, full attention.
    extra = {"sliding_window": None} if family == "mistral" else {}
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, **extra)
    return model.eval()


def rounded_as_stored(model: PreTrainedModel, quant: str) -> PreTrainedModel:
    """The model with every matrix rounded as the GGUF stores it (vectors stay float32)."""
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for param in rounded.parameters():
            if param.ndim < 2:
                continue
            qtype = QUANT_TYPES[quant]
            if qtype == gguf.GGMLQuantizationType.Q8_0 and param.shape[-1] % 32:
                qtype = gguf.GGMLQuantizationType.F16
            data = param.detach().numpy()
            back = gguf.quants.dequantize(gguf.quants.quantize(data, qtype), qtype)
            param.copy_(torch.from_numpy(np.ascontiguousarray(back.reshape(data.shape))))
    return rounded


def load_back(path: Path, original: PreTrainedModel) -> PreTrainedModel:
    """The GGUF through transformers' loader, with what that loader leaves out filled in."""
    meta = fields(path)
    arch = meta["general.architecture"]
    config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
    want = original.config
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size"):
        assert getattr(config, key) == getattr(want, key), key
    for key in ("num_key_value_heads", "intermediate_size", "max_position_embeddings"):
        assert getattr(config, key) == getattr(want, key), key
    assert config.tie_word_embeddings == want.tie_word_embeddings
    assert math.isclose(config.rms_norm_eps, want.rms_norm_eps, rel_tol=1e-6)
    head_dim = want.head_dim or want.hidden_size // want.num_attention_heads
    assert meta[f"{arch}.attention.key_length"] == head_dim
    config.head_dim = meta[f"{arch}.attention.key_length"]  # qwen3's is not read
    rope = want.rope_parameters
    full = rope.get("full_attention", rope)
    assert math.isclose(meta[f"{arch}.rope.freq_base"], full["rope_theta"], rel_tol=1e-6)
    if "sliding_attention" in rope:
        theta = rope["sliding_attention"]["rope_theta"]
        assert math.isclose(meta[f"{arch}.rope.freq_base_swa"], theta, rel_tol=1e-6)
    if arch.startswith("gemma"):
        assert meta[f"{arch}.attention.sliding_window"] == want.sliding_window
        for key in ("attn_logit_softcapping", "final_logit_softcapping"):
            stored = meta.get(f"{arch}.{key}")
            assert stored == getattr(want, key) or math.isclose(stored, getattr(want, key))
            setattr(config, key, stored)
        # llama.cpp hard-codes these; the caveats test shows the export reports a mismatch
        config.layer_types = want.layer_types
        config.query_pre_attn_scalar = want.query_pre_attn_scalar
    config.rope_parameters = rope  # Llama 3's scaling travels as rope_freqs, checked below
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, config=config, dtype=torch.float32
    )
    return model.eval()


def logits(model: PreTrainedModel, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]
