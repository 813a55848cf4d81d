"""A .gguf file imports as a Hugging Face model directory: the same model (exactly, from a
float file; within quantization error, from a Q8_0 one), the same tokens, its chat template,
and every end token the file names. The files are written here with the gguf package's own
writer, as llama.cpp's converter lays them out (tensor names, Llama's query/key row order,
a byte-level vocabulary with its merges)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from modelmint.catalog import Catalog
from modelmint.modeling import load_causal_lm, load_tokenizer, stop_token_ids
from modelmint.modeling.checkpoints import CheckpointError, ImportOptions
from modelmint.store import Store
from support.open_weights import FAMILIES, build_checkpoint

ARCHES = {"smollm": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2}
TEXT = "Hello, my order 123 is late! 你好"


def _permuted(w: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's row order for Llama's query and key projections."""
    return (
        w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
    )


def write_gguf(
    src: Path,
    out: Path,
    *,
    quantized: bool = False,
    chat_template: bool = True,
    end_of_text: str | None = None,
) -> Path:
    """The checkpoint in ``src`` as a GGUF file; ``end_of_text`` becomes its EOT token."""
    cfg = json.loads((src / "config.json").read_text())
    arch = ARCHES[src.name]
    tok = load_tokenizer(src)
    writer = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_name(src.name)
    writer.add_context_length(cfg["max_position_embeddings"])
    writer.add_embedding_length(cfg["hidden_size"])
    writer.add_block_count(cfg["num_hidden_layers"])
    writer.add_feed_forward_length(cfg["intermediate_size"])
    writer.add_head_count(cfg["num_attention_heads"])
    writer.add_head_count_kv(cfg["num_key_value_heads"])
    writer.add_rope_dimension_count(cfg["head_dim"])
    writer.add_rope_freq_base(cfg["rope_parameters"]["rope_theta"])
    writer.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    writer.add_vocab_size(cfg["vocab_size"])
    spec = json.loads((src / "tokenizer.json").read_text())
    tokens = [""] * len(tok)
    types = [gguf.TokenType.NORMAL] * len(tok)
    for text, i in spec["model"]["vocab"].items():
        tokens[i] = text
    for added in spec["added_tokens"]:
        tokens[added["id"]], types[added["id"]] = added["content"], gguf.TokenType.CONTROL
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(
        [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    )
    if tok.bos_token_id is not None:
        writer.add_bos_token_id(tok.bos_token_id)
    writer.add_eos_token_id(tok.eos_token_id)
    if end_of_text is not None:
        writer.add_eot_token_id(tok.convert_tokens_to_ids(end_of_text))
    if chat_template:
        writer.add_chat_template(tok.chat_template)
    names = gguf.get_tensor_name_map(arch, cfg["num_hidden_layers"])
    for name, w in load_file(str(src / "model.safetensors")).items():
        base, suffix = name.rsplit(".", 1)
        target = f"{names.get_name(base)}.{suffix}"
        if arch == gguf.MODEL_ARCH.LLAMA and ".attn_q." in target:
            w = _permuted(w, cfg["num_attention_heads"])
        if arch == gguf.MODEL_ARCH.LLAMA and ".attn_k." in target:
            w = _permuted(w, cfg["num_key_value_heads"])
        if quantized and w.ndim == 2:
            q = gguf.quantize(w, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(
                target, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0
            )
        else:
            writer.add_tensor(target, w.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gguf-sources")
    for family in ARCHES:
        build_checkpoint(family, root / family)
    return root


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    return Catalog(store, tmp_path / "artifacts")


@pytest.mark.parametrize("family", list(ARCHES))
def test_a_float_gguf_imports_as_the_same_model(
    catalog: Catalog, sources: Path, tmp_path: Path, family: str
) -> None:
    source = sources / family
    end = "<|endoftext|>"  # both families' end-of-text, named as the file's EOT
    gguf_file = write_gguf(source, tmp_path / f"{family}-f32.gguf", end_of_text=end)
    ref = catalog.import_model(family, gguf_file, ImportOptions(license="apache-2.0"))

    p = ref.provenance
    assert p is not None
    assert (p["format"], p["quantization"], p["dtype"]) == ("gguf", "F32", "float32")
    assert p["weights"] == {gguf_file.name: hashlib.sha256(gguf_file.read_bytes()).hexdigest()}
    assert p["stored_weights"].keys() == {"model.safetensors"}
    assert p["architecture"]["model_type"] == family.replace("smollm", "llama")
    assert p["context_length"] == 256 and p["tokenizer_from"] == str(gguf_file)
    assert p["chat_template"] == FAMILIES[family].chat_template

    original, imported = load_tokenizer(source), load_tokenizer(ref.path)
    assert imported(TEXT)["input_ids"] == original(TEXT)["input_ids"]
    ids = torch.tensor([original(TEXT)["input_ids"]])
    expected = load_causal_lm(source)(ids).logits
    assert torch.allclose(load_causal_lm(ref.path)(ids).logits, expected, atol=1e-5)
    ends = [original.eos_token_id, original.convert_tokens_to_ids(end)]
    assert json.loads((ref.path / "generation_config.json").read_text())["eos_token_id"] == ends
    assert [e["id"] for e in p["end_tokens"]] == ends
    assert set(ends) <= set(stop_token_ids(imported, ref.path))
    assert ref.num_parameters == p["parameters"] == load_causal_lm(source).num_parameters()


def test_a_quantized_gguf_is_dequantized_to_bfloat16(
    catalog: Catalog, sources: Path, tmp_path: Path
) -> None:
    gguf_file = write_gguf(sources / "smollm", tmp_path / "smollm-q8_0.gguf", quantized=True)
    ref = catalog.import_model("smol", gguf_file, ImportOptions(license="apache-2.0"))
    p = ref.provenance
    assert p is not None and (p["quantization"], p["dtype"]) == ("Q8_0", "bfloat16")
    model = load_causal_lm(ref.path, dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16
    ids = torch.tensor([[5, 60, 200, 33, 400]])
    expected = load_causal_lm(sources / "smollm")(ids).logits
    assert (model(ids).logits.float() - expected).abs().max() < 0.2


def test_gguf_files_that_cannot_be_imported_say_why(
    catalog: Catalog, sources: Path, tmp_path: Path
) -> None:
    untemplated = write_gguf(sources / "qwen2", tmp_path / "base.gguf", chat_template=False)
    with pytest.raises(CheckpointError, match=r"base.gguf has no chat template.*--no-chat"):
        catalog.import_model("base", untemplated)
    base = catalog.import_model("base", untemplated, ImportOptions(no_chat_template=True))
    assert base.provenance is not None and base.provenance["chat_template"] is None

    phi = gguf.GGUFWriter(str(tmp_path / "phi.gguf"), "phi3")
    phi.write_header_to_file()
    phi.write_kv_data_to_file()
    phi.write_tensors_to_file()
    phi.close()
    with pytest.raises(CheckpointError, match=r"phi.gguf is a phi3 model, which modelmint"):
        catalog.import_model("phi", tmp_path / "phi.gguf")
    fake = tmp_path / "fake.gguf"
    shutil.copy(sources / "qwen2" / "config.json", fake)
    with pytest.raises(CheckpointError, match=r"fake.gguf is not a GGUF file"):
        catalog.import_model("fake", fake)
