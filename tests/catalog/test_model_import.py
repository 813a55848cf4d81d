"""Open-weight checkpoints brought in from outside become model versions: every supported
family imports as its publisher ships it, with its provenance recorded and read back from
the store (SQLite and PostgreSQL), loads, and stops on its own end tokens; whatever cannot
be imported is refused before anything is copied, with a message that says what to pass."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from modelmint.catalog import Catalog
from modelmint.modeling import count_parameters, load_causal_lm, load_tokenizer, stop_token_ids
from modelmint.modeling.checkpoints import CheckpointError, ImportOptions
from modelmint.modeling.families import supported_model_types
from modelmint.store import Store
from support.open_weights import FAMILIES, build_checkpoint, write_pickled

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# family in open_weights -> (family in modelmint, config.json's model_type)
EXPECTED = {
    "llama3": ("llama", "llama"),
    "llama3-tied": ("llama", "llama"),
    "qwen2": ("qwen2", "qwen2"),
    "qwen3": ("qwen3", "qwen3"),
    "mistral": ("mistral", "mistral"),
    "gemma2": ("gemma2", "gemma2"),
    "gemma3": ("gemma3", "gemma3_text"),
    "smollm": ("llama", "llama"),
}

Published = Callable[[str], Path]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """A family's checkpoint as its publisher ships it, built once per module."""
    root = tmp_path_factory.mktemp("published")

    def get(family: str) -> Path:
        if not (root / family).exists():
            build_checkpoint(family, root / family)
        return root / family

    return get


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    return Catalog(store, tmp_path / "artifacts", clock=lambda: NOW)


def copy_of(published: Published, family: str, dest: Path) -> Path:
    shutil.copytree(published(family), dest)
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def staging_left(catalog: Catalog) -> list[Path]:
    staging = catalog.artifacts_dir / "staging"
    return list(staging.iterdir()) if staging.exists() else []


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_imports_with_its_provenance(
    catalog: Catalog, published: Published, family: str
) -> None:
    source, fam = published(family), FAMILIES[family]
    ref = catalog.import_model(family, source, ImportOptions(license="apache-2.0"))

    assert (ref.label, ref.kind, ref.run_id, ref.parent_id) == (
        f"{family}:1",
        "causal-lm",
        None,
        None,
    )
    p = ref.provenance
    assert p is not None
    assert catalog.resolve_model(family).provenance == p  # as the store gives it back
    weights = source / "model.safetensors"
    assert (p["source"], p["format"], p["license"]) == (str(source), "safetensors", "apache-2.0")
    assert p["weights"] == {"model.safetensors": sha256(weights)}
    listing = f"{sha256(weights)}  model.safetensors\n"
    assert p["weights_sha256"] == hashlib.sha256(listing.encode()).hexdigest()
    assert os.path.samefile(weights, ref.path / "model.safetensors")  # linked, not copied
    assert p["architecture"] == {
        "family": EXPECTED[family][0],
        "model_type": EXPECTED[family][1],
        "architectures": json.loads((source / "config.json").read_text())["architectures"],
    }
    assert (
        p["parameters"] == ref.num_parameters == sum(t.numel() for t in load_file(weights).values())
    )
    assert p["context_length"] == 256 and p["dtype"] == "float32"
    if family.startswith("llama3"):
        assert p["rope_scaling"]["rope_type"] == "llama3" and p["rope_scaling"]["factor"] == 8.0
    else:
        assert p["rope_scaling"] is None
    assert p["chat_template"] == fam.chat_template and p["chat_template_from"] == "checkpoint"
    assert p["chat_template_sha256"] == hashlib.sha256(fam.chat_template.encode()).hexdigest()
    assert p["imported_at"] == "2026-03-01T12:00:00+00:00"

    tokenizer = load_tokenizer(ref.path)
    end_ids = [tokenizer.convert_tokens_to_ids(t) for t in fam.end_tokens]
    assert [e["token"] for e in p["end_tokens"]][: len(fam.end_tokens)] == fam.end_tokens
    assert [e["id"] for e in p["end_tokens"]][: len(end_ids)] == end_ids
    assert set(end_ids) <= set(stop_token_ids(tokenizer, ref.path))
    assert tokenizer.chat_template == fam.chat_template
    model = load_causal_lm(ref.path)
    assert count_parameters(model) == ref.num_parameters
    assert model(torch.tensor([[3, 4, 5]])).logits.shape[-1] == model.config.vocab_size
    assert staging_left(catalog) == []


def test_a_sharded_checkpoint_imports_every_shard(
    catalog: Catalog, published: Published, tmp_path: Path
) -> None:
    source = copy_of(published, "qwen3", tmp_path / "sharded")
    original = load_causal_lm(source)
    (source / "model.safetensors").unlink()
    original.save_pretrained(str(source), max_shard_size="100KB")
    shards = sorted(source.glob("model-*.safetensors"))
    assert len(shards) > 1 and (source / "model.safetensors.index.json").exists()

    ref = catalog.import_model("sharded", source, ImportOptions(license="apache-2.0"))
    p = ref.provenance
    assert p is not None and p["format"] == "safetensors-sharded"
    assert p["weights"] == {s.name: sha256(s) for s in shards}
    listing = "".join(f"{sha256(s)}  {s.name}\n" for s in shards)
    assert p["weights_sha256"] == hashlib.sha256(listing.encode()).hexdigest()
    assert (ref.path / "model.safetensors.index.json").exists()
    ids = torch.tensor([[5, 6, 7, 8]])
    assert torch.equal(load_causal_lm(ref.path)(ids).logits, original(ids).logits)
    assert ref.num_parameters == count_parameters(original)


def test_pickled_weights_are_refused_unless_trusted(
    catalog: Catalog, published: Published, tmp_path: Path
) -> None:
    source = write_pickled(copy_of(published, "qwen2", tmp_path / "pickled"))
    with pytest.raises(CheckpointError, match=r"pickled pytorch_model\.bin.*--trust-pickle"):
        catalog.import_model("pickled", source)
    assert staging_left(catalog) == [] and catalog.list_models() == []

    ref = catalog.import_model("pickled", source, ImportOptions(trust_pickle=True))
    p = ref.provenance
    assert p is not None and p["format"] == "pytorch-pickle"
    assert p["weights"] == {"pytorch_model.bin": sha256(source / "pytorch_model.bin")}
    assert p["stored_weights"] == {"model.safetensors": sha256(ref.path / "model.safetensors")}
    assert not list(ref.path.glob("*.bin"))
    ids = torch.tensor([[5, 6, 7, 8]])
    expected = load_causal_lm(published("qwen2"))(ids).logits
    assert torch.equal(load_causal_lm(ref.path)(ids).logits, expected)


def test_weights_on_another_filesystem_are_copied_and_hashed(
    catalog: Catalog, published: Published, tmp_path: Path
) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem to copy from")
    source = shm / f"mint-import-{os.getpid()}-{tmp_path.name}"
    try:
        shutil.copytree(published("smollm"), source)
        ref = catalog.import_model("copied", source, ImportOptions(license="apache-2.0"))
        stored = ref.path / "model.safetensors"
        assert not os.path.samefile(source / "model.safetensors", stored)
        p = ref.provenance
        assert p is not None and p["weights"]["model.safetensors"] == sha256(stored)
        assert stored.read_bytes() == (source / "model.safetensors").read_bytes()
    finally:
        shutil.rmtree(source, ignore_errors=True)


def test_the_license_comes_from_the_model_card_or_is_unknown(
    catalog: Catalog, published: Published, tmp_path: Path
) -> None:
    source = copy_of(published, "gemma2", tmp_path / "carded")
    (source / "README.md").write_text(
        "---\nlicense: other\nlicense_name: gemma\nlibrary_name: transformers\n---\n# Gemma\n"
    )
    first = catalog.import_model("carded", source).provenance
    assert first is not None and first["license"] == "gemma"
    assert (catalog.resolve_model("carded").path / "README.md").exists()
    (source / "README.md").unlink()
    second = catalog.import_model("carded", source).provenance
    assert second is not None and second["license"] == "unknown"


def test_a_missing_tokenizer_is_named_and_taken_from_elsewhere(
    catalog: Catalog, published: Published, tmp_path: Path
) -> None:
    source = copy_of(published, "mistral", tmp_path / "bare")
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        (source / name).unlink()
    with pytest.raises(CheckpointError) as refused:
        catalog.import_model("bare", source)
    message = str(refused.value)
    assert "no tokenizer" in message and "tokenizer.json" in message
    assert "--tokenizer DIR" in message
    with pytest.raises(CheckpointError, match=r"no tokenizer in --tokenizer"):
        catalog.import_model("bare", source, ImportOptions(tokenizer=tmp_path))

    tokenizer_dir = published("mistral")
    ref = catalog.import_model("bare", source, ImportOptions(tokenizer=tokenizer_dir))
    p = ref.provenance
    assert p is not None and p["tokenizer_from"] == str(tokenizer_dir)
    assert p["chat_template_from"] == str(tokenizer_dir)
    assert load_tokenizer(ref.path).chat_template == FAMILIES["mistral"].chat_template


def test_a_missing_chat_template_is_refused_given_or_waived(
    catalog: Catalog, published: Published, tmp_path: Path
) -> None:
    source = copy_of(published, "llama3", tmp_path / "base")
    (source / "chat_template.jinja").unlink()
    with pytest.raises(CheckpointError) as refused:
        catalog.import_model("base", source)
    message = str(refused.value)
    assert "has no chat template" in message
    assert "--chat-template FILE" in message and "--no-chat-template" in message

    broken = tmp_path / "broken.jinja"
    broken.write_text("{% for message in messages %}{{ message['content'] }")
    with pytest.raises(CheckpointError, match=r"broken.jinja fails on a one-turn chat"):
        catalog.import_model("base", source, ImportOptions(chat_template=broken))
    with pytest.raises(CheckpointError, match=r"--chat-template .*nothing.jinja: no such file"):
        catalog.import_model(
            "base", source, ImportOptions(chat_template=tmp_path / "nothing.jinja")
        )

    template = tmp_path / "chat.jinja"
    template.write_text(FAMILIES["qwen2"].chat_template)
    given = catalog.import_model("base", source, ImportOptions(chat_template=template))
    assert given.provenance is not None and given.provenance["chat_template_from"] == str(template)
    assert load_tokenizer(given.path).chat_template == FAMILIES["qwen2"].chat_template
    assert (given.path / "chat_template.jinja").read_text() == template.read_text()

    waived = catalog.import_model("base", source, ImportOptions(no_chat_template=True))
    assert waived.provenance is not None and waived.provenance["chat_template"] is None
    assert waived.provenance["chat_template_sha256"] is None
    assert not load_tokenizer(waived.path).chat_template


def test_what_is_not_a_checkpoint_is_refused_with_what_it_lacks(
    catalog: Catalog, published: Published, tmp_path: Path
) -> None:
    with pytest.raises(CheckpointError, match=r"nowhere: no such file or directory"):
        catalog.import_model("m", tmp_path / "nowhere")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    (tmp_path / "empty").mkdir()
    for path in (notes, tmp_path / "empty"):
        with pytest.raises(CheckpointError, match=r"neither a Hugging Face model directory"):
            catalog.import_model("m", path)
    no_config = copy_of(published, "qwen2", tmp_path / "no-config")
    (no_config / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"has weights but no config.json"):
        catalog.import_model("m", no_config)
    no_weights = copy_of(published, "qwen2", tmp_path / "no-weights")
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"config.json but no weights"):
        catalog.import_model("m", no_weights)
    assert staging_left(catalog) == [] and catalog.list_models() == []


def _with_config(source: Path, **changes: object) -> Path:
    config = json.loads((source / "config.json").read_text())
    (source / "config.json").write_text(json.dumps({**config, **changes}))
    return source


def test_unsupported_architectures_are_named_with_the_supported_ones(
    catalog: Catalog, published: Published, tmp_path: Path
) -> None:
    phi = _with_config(
        copy_of(published, "llama3", tmp_path / "phi"),
        model_type="phi3",
        architectures=["Phi3ForCausalLM"],
    )
    with pytest.raises(CheckpointError) as refused:
        catalog.import_model("phi", phi)
    message = str(refused.value)
    assert "phi3 (Phi3ForCausalLM), which modelmint does not support" in message
    assert all(t in message for t in supported_model_types())

    multimodal = _with_config(
        copy_of(published, "gemma3", tmp_path / "gemma3-4b"),
        model_type="gemma3",
        architectures=["Gemma3ForConditionalGeneration"],
    )
    with pytest.raises(CheckpointError, match=r"multimodal gemma3 model .* only its text model"):
        catalog.import_model("gemma", multimodal)


def test_weights_larger_than_the_free_memory_are_refused_in_gb(
    catalog: Catalog, published: Published, tmp_path: Path
) -> None:
    """A sparse weights file whose header declares 4 TiB of float32: real to every reader,
    and no disk or memory used."""
    source = copy_of(published, "smollm", tmp_path / "huge")
    n = 1 << 40
    header = json.dumps({"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}})
    weights = source / "model.safetensors"
    with weights.open("wb") as f:
        f.write(len(header).to_bytes(8, "little") + header.encode())
        f.truncate(8 + len(header) + 4 * n)
    with pytest.raises(CheckpointError) as refused:
        catalog.import_model("huge", source)
    message = str(refused.value)
    assert "its weights take 4398.0 GB, more than the" in message
    assert "GB of memory available on this machine" in message
    assert staging_left(catalog) == []
