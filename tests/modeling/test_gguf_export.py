"""GGUF export, checked by loading each file back with transformers' GGUF loader (the only
GGUF reader here; llama.cpp itself cannot run in the tests) and comparing the logits of a
Chinese and English chat prompt with the original float32 model.

Two comparisons per file. Against the float32 model with each weight rounded exactly as the
file stores it (float16, bfloat16, or q8_0's 32-value blocks): this isolates the conversion
(names, the llama q/k permutation, Gemma's norm +1, metadata) from rounding, and must agree to
float32 noise. Against the float32 model itself: the rounding's own cost, measured and
bounded. With these checkpoints' deliberately large weights (initializer range 0.1, logits
up to about 3.8) float16 rounding alone moves a logit by up to 4e-3, so 1e-3 cannot hold
there; the bounds below are 2 to 3 times the largest difference measured on any family. At
the families' own scale (initializer range 0.02), one test holds float16 to 1e-3.

transformers' reader does not read every key llama.cpp does (soft-caps, Qwen3's head size)
nor llama.cpp's rope_freqs tensor, and knows nothing of what llama.cpp hard-codes (Gemma's
layer pattern and attention scale). The test checks those keys in the file, then gives the
loader the original's values for them, so the logits compare the weights and the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, PreTrainedModel

from modelmint.modeling.gguf_export import ExportError, export_gguf
from support.gguf_roundtrip import QUANT_TYPES, fields, load_back, logits, rounded_as_stored
from support.gguf_roundtrip import reference as reference_of
from support.open_weights import FAMILIES, build_checkpoint

# Largest |logit difference| to the float32 model measured over the families: f16 4.6e-3,
# bf16 3.5e-2, q8_0 1.14e-1 (bf16 keeps 8 significant bits to float16's 11; q8_0 rounds each
# weight to 1/127 of its block's largest).
BOUNDS = {"f16": 1e-2, "bf16": 1e-1, "q8_0": 0.35}
EXACT = 1e-5  # float32 noise between two evaluations of the same weights
CONVERSATION = [
    {"role": "user", "content": "你好，我的订单 #12345 什么时候到？"},
    {"role": "assistant", "content": "It shipped yesterday. 预计明天送达。"},
    {"role": "user", "content": "Thanks! 可以改地址吗？"},
]
ARCHITECTURES = {
    "llama3": "llama",
    "llama3-tied": "llama",
    "smollm": "llama",
    "mistral": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "gemma2": "gemma2",
    "gemma3": "gemma3",
}
MEASURED: dict[str, dict[str, float]] = {}


def prompt_ids(model_dir: Path) -> list[int]:
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    kwargs = FAMILIES[model_dir.name].template_kwargs
    return list(
        tok.apply_chat_template(
            CONVERSATION, add_generation_prompt=True, tokenize=True, return_dict=False, **kwargs
        )
    )


def reference(model_dir: Path) -> PreTrainedModel:
    return reference_of(model_dir, model_dir.name)


@pytest.mark.parametrize("quant", list(QUANT_TYPES))
@pytest.mark.parametrize("family", list(FAMILIES))
def test_gguf_logits_match_the_model(
    family: str, quant: str, checkpoints: Any, tmp_path: Path
) -> None:
    model_dir = checkpoints(family)
    path = tmp_path / f"{family}-{quant}.gguf"
    done = export_gguf(model_dir, path, quant=quant, name=f"tiny-{family}")
    assert done.architecture == ARCHITECTURES[family] == fields(path)["general.architecture"]
    original = reference(model_dir)
    ids = prompt_ids(model_dir)
    loaded = logits(load_back(path, original), ids)
    conversion = (loaded - logits(rounded_as_stored(original, quant), ids)).abs().max().item()
    rounding = (loaded - logits(original, ids)).abs().max().item()
    MEASURED.setdefault(family, {})[quant] = rounding
    print(f"{family} {quant}: max |logit diff| {rounding:.2e} (conversion {conversion:.1e})")
    assert conversion <= EXACT
    assert 0 < rounding <= BOUNDS[quant]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_f16_gguf_is_within_1e_3_of_the_model_at_the_families_own_scale(
    family: str, tmp_path: Path
) -> None:
    """At the initializer range the families publish (0.02), where logits stay near 1, the
    f16 file's logits are within 1e-3 of the float32 model's (measured 2.7e-4 to 7.3e-4).
    The checkpoints above are drawn 5 times wider, so their f16 rounding, which grows with
    the logits, is bounded by BOUNDS instead."""
    model_dir = build_checkpoint(family, tmp_path / family, initializer_range=0.02)
    path = tmp_path / f"{family}-f16.gguf"
    export_gguf(model_dir, path, quant="f16", name=f"tiny-{family}")
    original = reference_of(model_dir, family)
    ids = list(range(5, 60))
    assert (logits(load_back(path, original), ids) - logits(original, ids)).abs().max() <= 1e-3


@pytest.mark.parametrize("family", list(FAMILIES))
def test_gguf_tokenizer_and_metadata_are_llama_cpps(
    family: str, checkpoints: Any, tmp_path: Path
) -> None:
    model_dir = checkpoints(family)
    path = tmp_path / "model.gguf"
    export_gguf(model_dir, path, quant="q8_0", name="tiny")
    meta = fields(path)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    back = AutoTokenizer.from_pretrained(str(tmp_path), gguf_file=path.name)
    kwargs = FAMILIES[family].template_kwargs
    chat = dict(add_generation_prompt=True, tokenize=True, return_dict=False, **kwargs)
    assert back.apply_chat_template(CONVERSATION, **chat) == prompt_ids(model_dir)
    assert back("订单 order 12345")["input_ids"] == tok("订单 order 12345")["input_ids"]
    assert back.chat_template == tok.chat_template == meta["tokenizer.chat_template"]
    assert meta["tokenizer.ggml.model"] == "gpt2"
    assert meta["tokenizer.ggml.pre"] == ("qwen2" if family == "qwen2" else "gpt-2")
    assert meta["tokenizer.ggml.tokens"] == [tok.convert_ids_to_tokens(i) for i in range(len(tok))]
    types = meta["tokenizer.ggml.token_type"]
    specials = {tok.convert_tokens_to_ids(t) for t in FAMILIES[family].specials}
    assert {i for i, t in enumerate(types) if t == gguf.TokenType.CONTROL} == specials
    assert meta["tokenizer.ggml.eos_token_id"] == tok.eos_token_id
    assert meta.get("tokenizer.ggml.bos_token_id") == tok.bos_token_id
    assert meta["tokenizer.ggml.add_bos_token"] is False  # these templates write BOS
    assert len(meta["tokenizer.ggml.merges"]) == len(
        json.loads((model_dir / "tokenizer.json").read_text())["model"]["merges"]
    )
    tensors = {t.name: t for t in gguf.GGUFReader(str(path)).tensors}
    for name, t in tensors.items():
        vector_or_norm = len(t.shape) == 1 or name.endswith("_norm.weight")
        assert t.tensor_type == (
            gguf.GGMLQuantizationType.F32 if vector_or_norm else gguf.GGMLQuantizationType.Q8_0
        ), name
    config = json.loads((model_dir / "config.json").read_text())
    assert ("output.weight" in tensors) == (not config.get("tie_word_embeddings", False))


@pytest.mark.parametrize("family", ["llama3", "llama3-tied"])
def test_llama3_rope_scaling_is_the_rope_freqs_tensor(
    family: str, checkpoints: Any, tmp_path: Path
) -> None:
    """llama.cpp divides each rotary frequency by rope_freqs; the quotients must be the ones
    transformers' Llama 3 scaling applies."""
    model_dir = checkpoints(family)
    path = tmp_path / "model.gguf"
    export_gguf(model_dir, path)
    (freqs,) = [t for t in gguf.GGUFReader(str(path)).tensors if t.name == "rope_freqs.weight"]
    model = reference(model_dir)
    dim = model.config.head_dim
    theta = model.config.rope_parameters["rope_theta"]
    plain = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    scaled = model.model.rotary_emb.inv_freq
    assert torch.allclose(torch.from_numpy(np.array(freqs.data)), plain / scaled, rtol=1e-5)
    assert float(np.max(freqs.data)) == 8.0  # the lowest frequencies are divided by the factor


def test_caveats_name_what_llama_cpp_computes_differently(checkpoints: Any, tmp_path: Path) -> None:
    gemma3 = export_gguf(checkpoints("gemma3"), tmp_path / "g3.gguf")
    assert any("every 6th layer" in c and "full_attention" in c for c in gemma3.caveats)
    mistral = export_gguf(checkpoints("mistral"), tmp_path / "m.gguf")
    assert any("8-token sliding window" in c for c in mistral.caveats)
    assert export_gguf(checkpoints("gemma2"), tmp_path / "g2.gguf").caveats == []
    assert export_gguf(checkpoints("qwen2"), tmp_path / "q2.gguf").caveats == []


def test_unsupported_models_are_refused_with_what_to_do(checkpoints: Any, tmp_path: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = tmp_path / "gpt2"
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64)).save_pretrained(gpt2)
    with pytest.raises(
        ExportError, match=r"'gpt2'.*supported: gemma2, gemma3_text, llama, mistral"
    ):
        export_gguf(gpt2, tmp_path / "x.gguf")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ExportError, match="mint models merge"):
        export_gguf(adapter, tmp_path / "y.gguf")
    with pytest.raises(ExportError, match="q4_0"):
        export_gguf(checkpoints("qwen3"), tmp_path / "z.gguf", quant="q4_0")
    assert not (tmp_path / "z.gguf").exists()
