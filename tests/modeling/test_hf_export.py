"""Hugging Face export: a clean directory that transformers loads on its own, computing what
the catalog's version computes; int8 versions come out dequantized, exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from modelmint.compression.quantize import quantize_int8_dynamic
from modelmint.modeling.checkpoint_tensors import ExportError
from modelmint.modeling.gguf_export import export_gguf
from modelmint.modeling.hf_export import export_hf
from modelmint.modeling.quantized import INT8_WEIGHTS_FILE, save_int8
from support.open_weights import FAMILIES

PROMPT = [{"role": "user", "content": "你好，我的订单 #12345 什么时候到？ When?"}]


def load(path: Path) -> Any:
    return AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True).eval()


def logits(model: Any, tok: Any) -> torch.Tensor:
    ids = tok.apply_chat_template(PROMPT, add_generation_prompt=True, return_dict=False)
    with torch.no_grad():
        return model(torch.tensor([ids])).logits


@pytest.mark.parametrize("family", list(FAMILIES))
def test_hf_export_reloads_with_the_same_logits_and_chat_template(
    family: str, checkpoints: Any, tmp_path: Path
) -> None:
    source = tmp_path / "catalog-version"
    shutil.copytree(checkpoints(family), source)
    (source / "modelmint.json").write_text(json.dumps({"run": 7}))  # catalog bookkeeping
    out = tmp_path / "export"
    done = export_hf(source, out)
    assert done.dtype == "float32" and not done.dequantized
    assert not (out / "modelmint.json").exists()
    assert "_name_or_path" not in json.loads((out / "config.json").read_text())
    tok, back = AutoTokenizer.from_pretrained(str(source)), AutoTokenizer.from_pretrained(str(out))
    assert back.chat_template == tok.chat_template
    kwargs = FAMILIES[family].template_kwargs
    assert back.apply_chat_template(PROMPT, **kwargs) == tok.apply_chat_template(PROMPT, **kwargs)
    ends = GenerationConfig.from_pretrained(str(out)).eos_token_id
    assert ends == [tok.convert_tokens_to_ids(t) for t in FAMILIES[family].end_tokens]
    assert torch.equal(logits(load(out), back), logits(load(source), tok))


def test_hf_export_casts_to_bf16_and_refuses_gguf_types(checkpoints: Any, tmp_path: Path) -> None:
    done = export_hf(checkpoints("qwen3"), tmp_path / "bf16", quant="bf16")
    assert done.dtype == "bfloat16"
    weights = load_file(str(tmp_path / "bf16" / "model.safetensors"))
    assert {t.dtype for t in weights.values()} == {torch.bfloat16}
    with pytest.raises(ExportError, match="q8_0 is a GGUF type"):
        export_hf(checkpoints("qwen3"), tmp_path / "q8", quant="q8_0")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's int8 modules, see quantized.py
def test_int8_versions_are_dequantized_exactly(checkpoints: Any, tmp_path: Path) -> None:
    source = checkpoints("llama3-tied")  # tied: the int8 file holds the embedding only once
    model = AutoModelForCausalLM.from_pretrained(str(source), dtype=torch.float32).eval()
    quantize_int8_dynamic(model, keep_float=())
    int8_dir = tmp_path / "int8"
    save_int8(model, int8_dir, {"method": "int8-dynamic"})
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy2(source / name, int8_dir / name)
    stored = load_file(str(int8_dir / INT8_WEIGHTS_FILE))
    done = export_hf(int8_dir, tmp_path / "float")
    assert done.dequantized and done.dtype == "float32"
    exported = load(tmp_path / "float").state_dict()
    # every tensor is the int8 file's, dequantized: the float model computes with the int8
    # model's weights (the int8 model also rounds its activations, which no file carries)
    for key, value in exported.items():
        module = key.removesuffix(".weight")
        if f"{module}.weight_int8" in stored:
            exact = (
                stored[f"{module}.weight_int8"].float() * stored[f"{module}.weight_scale"][:, None]
            )
            assert torch.equal(value, exact), key
        elif key == "model.embed_tokens.weight":
            assert torch.equal(value, exported["lm_head.weight"])
        else:
            assert torch.equal(value, stored[key]), key
    assert export_gguf(int8_dir, tmp_path / "int8.gguf").tensors == 21  # 2 x 9 + 3, no output


def test_torchao_versions_and_adapters_are_refused(checkpoints: Any, tmp_path: Path) -> None:
    torchao = tmp_path / "torchao"
    shutil.copytree(checkpoints("smollm"), torchao)
    config = json.loads((torchao / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "torchao"}
    (torchao / "config.json").write_text(json.dumps(config))
    with pytest.raises(ExportError, match=r"quantized by torchao.*float version"):
        export_hf(torchao, tmp_path / "out")
    adapter = tmp_path / "adapter"
    shutil.copytree(checkpoints("smollm"), adapter)
    (adapter / "adapter_config.json").write_text("{}")
    with pytest.raises(ExportError, match="mint models merge"):
        export_hf(adapter, tmp_path / "out2")
