"""Pruning: removing weights of the decoder layers' Linear projections.

- Unstructured: in every projection, a ``sparsity`` fraction of weights become zero
  (torch.nn.utils.prune, made permanent). ``wanda`` (the default) ranks each weight by its
  magnitude times the norm of its input feature on calibration text, within each output row
  (Sun et al. 2023, in one pass rather than layer by layer); ``magnitude`` by magnitude
  alone, over the whole matrix, and needs no data. The shapes stay, so the model is no
  smaller on disk and no faster on CPU, where dense kernels do not skip zeros.
- Structured: in every layer, the ``sparsity`` fraction of MLP intermediate neurons and of
  attention heads (key-value groups, with grouped-query attention) with the smallest norms
  are removed. The saved config really is smaller (``intermediate_size``,
  ``num_attention_heads``), so the model is smaller and does less work per token.

Embeddings, the output layer and norms are never pruned: they are a small share of the
weights and the model is most sensitive there. Works on Llama-style decoders (Llama, Mistral,
Qwen2: ``mlp.gate_proj/up_proj/down_proj``, ``self_attn.q_proj/k_proj/v_proj/o_proj``)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.utils import prune as torch_prune
from transformers import AutoModelForCausalLM

from modelmint.catalog import Catalog, ModelRef
from modelmint.compression.calibration import calibration_blocks, input_norms, lineage_dataset
from modelmint.compression.versions import (
    Compressed,
    CompressionError,
    check_source,
    compress_to_version,
    default_name,
)
from modelmint.modeling import count_parameters, load_causal_lm, load_tokenizer
from modelmint.observability import ProgressEvent, ProgressFn, no_progress

UNSTRUCTURED_METHODS = ("wanda", "magnitude")
CALIBRATION_BLOCKS = 32  # of 256 tokens: Wanda's own finding is that 128 sequences are plenty
MLP = ("gate_proj", "up_proj", "down_proj")
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class Decoder:
    prefix: str  # state-dict prefix of the layer list, e.g. "model.layers"
    layers: list[Any]  # the decoder layers (Llama-style modules)


def decoder_of(model: Any) -> Decoder:
    layers = getattr(model.base_model, "layers", None)
    if layers is None or not len(layers):
        raise CompressionError(
            f"pruning needs a Llama-style decoder (base_model.layers); "
            f"{type(model).__name__} has none"
        )
    for layer in layers:
        for group, names in (("mlp", MLP), ("self_attn", ATTENTION)):
            part = getattr(layer, group, None)
            if part is None or not all(
                isinstance(getattr(part, n, None), torch.nn.Linear) for n in names
            ):
                raise CompressionError(
                    f"pruning needs Llama-style layers with {group}.{'/'.join(names)}; "
                    f"{type(model).__name__} has a different layout"
                )
    prefix = next(n for n, m in model.named_modules() if m is layers)
    return Decoder(prefix, list(layers))


def projections(decoder: Decoder) -> list[torch.nn.Linear]:
    return [
        getattr(getattr(layer, group), n)
        for layer in decoder.layers
        for group, names in (("mlp", MLP), ("self_attn", ATTENTION))
        for n in names
    ]


def measured_sparsity(model: Any) -> float:
    """Fraction of zero weights in the decoder layers' projections."""
    weights = [p.weight for p in projections(decoder_of(model))]
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / sum(w.numel() for w in weights)


def prune_unstructured(
    model: Any, sparsity: float, norms: dict[torch.nn.Linear, torch.Tensor] | None = None
) -> Any:
    """Zeroes a ``sparsity`` fraction of every projection's weights, in place: those of
    smallest |w| * input norm in each output row when ``norms`` (from calibration) are given,
    else those of smallest magnitude in the whole matrix."""
    for linear in projections(decoder_of(model)):
        if norms is None:
            torch_prune.l1_unstructured(linear, "weight", amount=sparsity)
        else:
            score = linear.weight.detach().abs() * norms[linear][None, :]
            cut = round(linear.in_features * sparsity)
            mask = torch.ones_like(score)
            mask.scatter_(1, torch.topk(score, cut, dim=1, largest=False).indices, 0.0)
            torch_prune.custom_from_mask(linear, "weight", mask)
        torch_prune.remove(linear, "weight")
    return model


def _keep(scores: torch.Tensor, count: int) -> torch.Tensor:
    return torch.sort(torch.topk(scores, count).indices).values


def prune_structured(model: Any, sparsity: float) -> Any:
    """A new, smaller model: in every layer the weakest ``sparsity`` fraction of MLP
    neurons and of attention heads removed. A neuron's score is the product of the norms of
    its gate row, up row and down column; a head's, its value rows' norm times its output
    columns' norm (what the head can add to the residual stream)."""
    config = model.config
    decoder = decoder_of(model)
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    per_group = heads // kv_heads
    neurons = int(config.intermediate_size)
    keep_neurons = max(1, round(neurons * (1 - sparsity)))
    keep_groups = max(1, round(kv_heads * (1 - sparsity)))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for i, layer in enumerate(decoder.layers):
            p = f"{decoder.prefix}.{i}."
            mlp, attn = layer.mlp, layer.self_attn
            score = (
                mlp.gate_proj.weight.norm(dim=1)
                * mlp.up_proj.weight.norm(dim=1)
                * mlp.down_proj.weight.norm(dim=0)
            )
            kept = _keep(score, keep_neurons)
            _take(state, f"{p}mlp.gate_proj", kept, rows=True)
            _take(state, f"{p}mlp.up_proj", kept, rows=True)
            _take(state, f"{p}mlp.down_proj", kept, rows=False)

            v = attn.v_proj.weight.view(kv_heads, head_dim, -1).flatten(1).norm(dim=1)
            o = attn.o_proj.weight.view(-1, heads, head_dim).transpose(0, 1).flatten(1)
            o_group = o.norm(dim=1).view(kv_heads, per_group).sum(dim=1)
            groups = _keep(v * o_group, keep_groups)
            kv_rows = (groups[:, None] * head_dim + torch.arange(head_dim)).flatten()
            q_heads = (groups[:, None] * per_group + torch.arange(per_group)).flatten()
            q_rows = (q_heads[:, None] * head_dim + torch.arange(head_dim)).flatten()
            _take(state, f"{p}self_attn.q_proj", q_rows, rows=True)
            _take(state, f"{p}self_attn.k_proj", kv_rows, rows=True)
            _take(state, f"{p}self_attn.v_proj", kv_rows, rows=True)
            _take(state, f"{p}self_attn.o_proj", q_rows, rows=False)
    smaller = copy.deepcopy(config)
    smaller.intermediate_size = keep_neurons
    smaller.num_attention_heads = keep_groups * per_group
    smaller.num_key_value_heads = keep_groups
    smaller.head_dim = head_dim  # no longer hidden_size // heads: say it explicitly
    pruned: Any = AutoModelForCausalLM.from_config(smaller, dtype=torch.float32)
    pruned.load_state_dict(state, strict=True)
    return pruned.eval()


def _take(state: dict[str, torch.Tensor], module: str, index: torch.Tensor, rows: bool) -> None:
    w = state[f"{module}.weight"]
    state[f"{module}.weight"] = w[index].contiguous() if rows else w[:, index].contiguous()
    bias = state.get(f"{module}.bias")
    if bias is not None and rows:
        state[f"{module}.bias"] = bias[index].contiguous()


def _calibrate(catalog: Catalog, source: ModelRef, blocks: int) -> Any:
    """A function from the loaded model to its projections' input norms on calibration
    blocks of the lineage dataset (looked up now, so a model without one fails early)."""
    dataset = lineage_dataset(catalog, source)

    def norms_of(model: Any) -> dict[torch.nn.Linear, torch.Tensor]:
        tokenizer = load_tokenizer(source.path)
        block_size = min(256, int(model.config.max_position_embeddings))
        text = calibration_blocks(
            dataset.read_split("train"), tokenizer, blocks=blocks, block_size=block_size
        )
        return input_norms(model, projections(decoder_of(model)), text)

    return norms_of


def decoder_weights(model: Any) -> int:
    return sum(p.weight.numel() for p in projections(decoder_of(model)))


def prune(
    catalog: Catalog,
    source: ModelRef,
    sparsity: float,
    *,
    structured: bool = False,
    method: str = "wanda",
    calibration_size: int = CALIBRATION_BLOCKS,
    name: str | None = None,
    progress: ProgressFn = no_progress,
) -> Compressed:
    """A new version of ``name`` (default: the source's name with ``pruned<S>`` appended):
    the source with ``sparsity`` of its decoder projections' weights removed, its parent
    the source. ``method`` (unstructured only): ``wanda`` or ``magnitude``."""
    if not 0 < sparsity < 1:
        raise CompressionError(f"sparsity must be between 0 and 1 (exclusive), got {sparsity}")
    if method not in UNSTRUCTURED_METHODS:
        raise CompressionError(
            f"unknown pruning method {method!r}; choose one of {', '.join(UNSTRUCTURED_METHODS)}"
        )
    check_source(source)
    kind = "structured" if structured else "unstructured"
    facts: dict[str, Any] = {"method": f"prune-{kind}", "sparsity_target": sparsity}
    if not structured:
        facts["criterion"] = method
    wanda = method == "wanda" and not structured
    norms_of = _calibrate(catalog, source, calibration_size) if wanda else None
    task = f"prune {kind} {sparsity:.0%}"
    progress(ProgressEvent(task, 0, 1))

    def write(out: Path) -> int:
        model = load_causal_lm(source.path)
        decoder_of(model)  # refuse an unsupported layout before any work
        before = decoder_weights(model)
        if structured:
            model = prune_structured(model, sparsity)
            facts["sparsity"] = round(1 - decoder_weights(model) / before, 4)
            facts["intermediate_size"] = int(model.config.intermediate_size)
            facts["num_attention_heads"] = int(model.config.num_attention_heads)
        else:
            norms = norms_of(model) if norms_of else None
            prune_unstructured(model, sparsity, norms)
            facts["sparsity"] = round(measured_sparsity(model), 4)
        model.save_pretrained(str(out))
        return count_parameters(model)

    tag = f"pruned{round(sparsity * 100)}" + ("s" if structured else "")
    done = compress_to_version(
        catalog, source, name=name or default_name(source, tag), facts=facts, write=write
    )
    progress(ProgressEvent(task, 1, 1))
    return done
