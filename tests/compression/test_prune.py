"""Pruning: unstructured reaches the asked sparsity; structured really shrinks the saved
config, removes exactly the weakest neurons and heads, and the result loads and generates."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from modelmint.catalog import Catalog, ModelRef
from modelmint.compression import CompressionError, decode_tokens_per_second, prune
from modelmint.compression.prune import (
    decoder_of,
    projections,
    prune_structured,
    prune_unstructured,
)
from modelmint.modeling import load_causal_lm


def generates(model: torch.nn.Module) -> None:
    assert decode_tokens_per_second(model, batch_size=2, new_tokens=4, prompt_tokens=8) > 0


def test_unstructured_pruning_reaches_the_asked_sparsity(catalog: Catalog, base: ModelRef) -> None:
    done = prune(catalog, base, 0.5)
    model, parent = load_causal_lm(done.model.path), load_causal_lm(base.path)
    assert done.model.parent_id == base.id and done.model.label == "base-pruned50:1"
    for layer in model.model.layers:
        for linear in [*layer.mlp.children(), *layer.self_attn.children()]:
            if isinstance(linear, torch.nn.Linear):
                zeros = float((linear.weight == 0).float().mean())
                assert zeros == pytest.approx(0.5, abs=0.01)
    assert done.facts["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert done.facts["criterion"] == "wanda"  # the default, calibrated on the lineage data
    assert done.model.metrics["sparsity"] == done.facts["sparsity"]
    # embeddings, norms and the output layer are left alone
    assert torch.equal(model.model.embed_tokens.weight, parent.model.embed_tokens.weight)
    assert torch.equal(model.model.norm.weight, parent.model.norm.weight)
    facts = json.loads((done.model.path / "modelmint.json").read_text())
    assert facts["compression"]["method"] == "prune-unstructured"
    generates(model)


def test_structured_pruning_shrinks_the_saved_model(catalog: Catalog, base: ModelRef) -> None:
    done = prune(catalog, base, 0.5, structured=True)
    config = json.loads((done.model.path / "config.json").read_text())
    assert config["intermediate_size"] == 64  # of 128
    assert config["num_attention_heads"] == 2 and config["num_key_value_heads"] == 2  # of 4
    assert config["head_dim"] == 16  # kept, though hidden_size / heads is now 32
    assert done.model.num_parameters < base.num_parameters
    assert done.facts["sparsity"] == pytest.approx(0.5, abs=0.01)
    float_bytes = (base.path / "model.safetensors").stat().st_size
    assert (done.model.path / "model.safetensors").stat().st_size < 0.9 * float_bytes
    generates(load_causal_lm(done.model.path))


def test_structured_pruning_removes_exactly_the_weakest_neurons_and_heads(
    base: ModelRef,
) -> None:
    """Made weak on purpose, half the neurons and heads of every layer must be the ones
    removed, and the pruned model must compute what the parent computes with them zeroed."""
    model = load_causal_lm(base.path)
    weak_neurons, weak_heads, head_dim = torch.arange(0, 128, 2), [1, 3], 16
    weak_cols = torch.cat([torch.arange(h * head_dim, (h + 1) * head_dim) for h in weak_heads])
    with torch.no_grad():
        for layer in model.model.layers:
            layer.mlp.down_proj.weight[:, weak_neurons] *= 1e-3
            layer.self_attn.o_proj.weight[:, weak_cols] *= 1e-3
    pruned = prune_structured(model, 0.5)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.mlp.down_proj.weight[:, weak_neurons] = 0
            layer.self_attn.o_proj.weight[:, weak_cols] = 0
    ids = torch.arange(3, 60)[None]
    with torch.inference_mode():
        expected, got = model(input_ids=ids).logits, pruned(input_ids=ids).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_magnitude_pruning_needs_no_data(catalog: Catalog, base: ModelRef) -> None:
    done = prune(catalog, base, 0.3, method="magnitude")
    assert done.facts["criterion"] == "magnitude"
    assert done.facts["sparsity"] == pytest.approx(0.3, abs=0.01)
    generates(load_causal_lm(done.model.path))


def test_wanda_keeps_the_weights_on_strong_inputs(base: ModelRef) -> None:
    """Feature 0 carries huge activations: its weights survive though they are the
    smallest; under magnitude pruning they are the first to go."""
    model = load_causal_lm(base.path)
    layers = projections(decoder_of(model))
    with torch.no_grad():
        for linear in layers:
            linear.weight[:, 0] = 1e-6
    norms = {}
    for linear in layers:
        norms[linear] = torch.ones(linear.in_features)
        norms[linear][0] = 1e9
    prune_unstructured(model, 0.5, norms)
    for linear in layers:
        assert bool((linear.weight[:, 0] != 0).all())
        per_row = (linear.weight == 0).float().mean(dim=1)
        assert torch.allclose(per_row, torch.full_like(per_row, 0.5))
    plain = load_causal_lm(base.path)
    with torch.no_grad():
        for linear in projections(decoder_of(plain)):
            linear.weight[:, 0] = 1e-6
    prune_unstructured(plain, 0.5)
    assert all(bool((m.weight[:, 0] == 0).all()) for m in projections(decoder_of(plain)))


def test_wanda_without_a_dataset_in_the_lineage_says_what_to_do(
    catalog: Catalog, base: ModelRef
) -> None:
    staged = catalog.staging_dir("model")
    shutil.copytree(base.path, staged, dirs_exist_ok=True)
    orphan = catalog.add_model_version(
        "orphan", staged, run_id=None, kind="causal-lm", num_parameters=1, metrics={}
    )
    with pytest.raises(CompressionError, match="--method magnitude"):
        prune(catalog, orphan, 0.5)
    assert prune(catalog, orphan, 0.5, structured=True).model.parent_id == orphan.id
    with pytest.raises(CompressionError, match="unknown pruning method 'random'"):
        prune(catalog, base, 0.5, method="random")


@pytest.mark.parametrize("sparsity", [0, 1, 1.5, -0.1])
def test_sparsity_out_of_range_is_refused(
    catalog: Catalog, base: ModelRef, sparsity: float
) -> None:
    with pytest.raises(CompressionError, match="sparsity must be between 0 and 1"):
        prune(catalog, base, sparsity)
