"""int8 quantization: a new version, smaller on disk, close to its parent, loadable by the
loader every stage uses, with its lineage."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM

from modelmint.catalog import Catalog, ModelRef
from modelmint.compression import CompressionError, quantize
from modelmint.compression.quantize import quantize_int8_dynamic
from modelmint.modeling import load_causal_lm, load_tokenizer
from modelmint.modeling.quantized import INT8_WEIGHTS_FILE, QUANTIZATION_FILE, quantized_linears


def logits(model: Any, path: Any, texts: list[str]) -> torch.Tensor:
    tok = load_tokenizer(path)
    ids = tok(" ".join(texts), return_tensors="pt")["input_ids"][:, :120]
    with torch.inference_mode():
        return model(input_ids=ids).logits[0].float()


@pytest.fixture(scope="module")
def int8(catalog: Catalog, base: ModelRef) -> ModelRef:
    return quantize(catalog, base, "int8-dynamic").model


def test_int8_version_records_its_parent_and_what_was_done(
    catalog: Catalog, base: ModelRef, int8: ModelRef
) -> None:
    assert int8.label == "base-int8-dynamic:1" and int8.parent_id == base.id
    assert int8.kind == "causal-lm" and int8.num_parameters == base.num_parameters
    lineage = catalog.lineage(int8)
    assert lineage["parents"][0]["model"] == base.label
    assert lineage["run"]["kind"] == "compress:int8-dynamic"
    assert lineage["dataset"]["name"] == "support"  # the parent's dataset, for evaluations
    facts = json.loads((int8.path / "modelmint.json").read_text())
    assert facts["parent"] == base.label
    assert facts["compression"] == {
        "method": "int8-dynamic",
        "bits": 8,
        "output_layer": True,
        "keep_float": ["down_proj"],
    }
    assert int8.metrics["method"] == "int8-dynamic" and int8.metrics["bits"] == 8


def test_int8_weights_are_stored_as_int8_and_the_version_is_smaller(
    base: ModelRef, int8: ModelRef
) -> None:
    from safetensors import safe_open

    with safe_open(str(int8.path / INT8_WEIGHTS_FILE), "pt") as f:
        dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}  # noqa: SIM118
    spec = json.loads((int8.path / QUANTIZATION_FILE).read_text())
    assert spec["modules"] and all(dtypes[f"{m}.weight_int8"] == "I8" for m in spec["modules"])
    assert spec["tied_embedding"] == "model.embed_tokens"  # stored once, as int8
    # every projection is int8 but the MLP outputs, which stay float32 (FLOAT_BY_DEFAULT)
    float_proj = {k for k in dtypes if k.endswith(".weight") and "proj" in k}
    assert float_proj and all(k.endswith("down_proj.weight") for k in float_proj)
    assert all(dtypes[k] == "F32" for k in float_proj)
    float_bytes = (base.path / "model.safetensors").stat().st_size
    assert (int8.path / INT8_WEIGHTS_FILE).stat().st_size < 0.5 * float_bytes
    assert int8.metrics["size_bytes"] < 0.5 * sum(
        p.stat().st_size for p in base.path.iterdir() if p.is_file()
    )


def test_int8_logits_stay_close_to_the_parent(
    base: ModelRef, int8: ModelRef, validation_texts: list[str]
) -> None:
    parent = load_causal_lm(base.path)
    child = load_causal_lm(int8.path)
    layers = quantized_linears(child)
    # every projection of both layers but the MLP outputs, and the output layer
    assert len(layers) == 2 * 6 + 1
    assert {n for n, m in child.named_modules() if isinstance(m, torch.nn.Linear)} == {
        "model.layers.0.mlp.down_proj",
        "model.layers.1.mlp.down_proj",
    }
    a, b = logits(parent, base.path, validation_texts), logits(child, int8.path, validation_texts)
    assert (a - b).abs().mean() < 0.03 * a.abs().mean()
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.9
    kl = torch.nn.functional.kl_div(
        b.log_softmax(-1), a.log_softmax(-1), log_target=True, reduction="batchmean"
    )
    assert kl < 0.01


def test_loading_rebuilds_the_quantized_model_exactly(
    base: ModelRef, int8: ModelRef, validation_texts: list[str]
) -> None:
    in_memory = quantize_int8_dynamic(load_causal_lm(base.path))
    loaded = load_causal_lm(int8.path)
    saved, rebuilt = quantized_linears(in_memory), quantized_linears(loaded)
    assert saved.keys() == rebuilt.keys()
    for name, layer in saved.items():
        w, v = layer.weight(), rebuilt[name].weight()
        assert torch.equal(w.int_repr(), v.int_repr()), name
        assert torch.equal(w.q_per_channel_scales(), v.q_per_channel_scales()), name
    # The tied embedding is stored once, as the output layer's int8 matrix.
    head = saved["lm_head"].weight()
    embedding = head.int_repr().float() * head.q_per_channel_scales().float()[:, None]
    in_memory.get_input_embeddings().weight = torch.nn.Parameter(embedding)
    a = logits(in_memory, base.path, validation_texts)
    b = logits(loaded, int8.path, validation_texts)
    assert torch.equal(a, b)


def test_a_plain_from_pretrained_refuses_the_int8_directory(int8: ModelRef) -> None:
    with pytest.raises(OSError):
        AutoModelForCausalLM.from_pretrained(str(int8.path), local_files_only=True)


def test_output_layer_can_stay_float(catalog: Catalog, base: ModelRef) -> None:
    kept = quantize(catalog, base, "int8-dynamic", name="base-int8-head", output_layer=False)
    model = load_causal_lm(kept.model.path)
    assert isinstance(model.get_output_embeddings(), torch.nn.Linear)
    assert "lm_head" not in quantized_linears(model)
    spec = json.loads((kept.model.path / QUANTIZATION_FILE).read_text())
    assert spec["tied_embedding"] is None


def test_the_mlp_outputs_can_be_quantized_too(catalog: Catalog, base: ModelRef) -> None:
    every = quantize(catalog, base, "int8-dynamic", name="base-int8-all", keep_float=())
    model = load_causal_lm(every.model.path)
    assert any(n.endswith("down_proj") for n in quantized_linears(model))
    float_bytes = (base.path / "model.safetensors").stat().st_size
    assert (every.model.path / INT8_WEIGHTS_FILE).stat().st_size < 0.3 * float_bytes


def test_unsupported_requests_are_refused_with_the_reason(
    catalog: Catalog, base: ModelRef, int8: ModelRef
) -> None:
    with pytest.raises(CompressionError, match="no working CPU path"):
        quantize(catalog, base, "int4-weight-only")
    with pytest.raises(CompressionError, match="unknown quantization method 'int3'"):
        quantize(catalog, base, "int3")
    with pytest.raises(CompressionError, match="already quantized"):
        quantize(catalog, int8, "int8-dynamic")


def test_int8_weight_only_through_torchao(
    catalog: Catalog, base: ModelRef, validation_texts: list[str]
) -> None:
    pytest.importorskip("torchao")
    done = quantize(catalog, base, "int8-weight-only").model
    assert done.parent_id == base.id
    config = json.loads((done.path / "config.json").read_text())
    assert config["quantization_config"]["quant_method"] == "torchao"
    assert (done.path / "model.safetensors").stat().st_size < (
        base.path / "model.safetensors"
    ).stat().st_size
    parent, child = load_causal_lm(base.path), load_causal_lm(done.path)
    a, b = logits(parent, base.path, validation_texts), logits(child, done.path, validation_texts)
    assert (a - b).abs().mean() < 0.03 * a.abs().mean()
