"""Int8 causal LMs as modelmint stores them, and loading them back.

On disk: the float architecture's ``config.json``; ``model.int8.safetensors`` with every
quantized Linear's weight as int8 plus one float32 scale per output channel (symmetric, zero
point 0) and every other tensor as it was; ``quantization.json`` naming the method and the
quantized modules. A tied input embedding is not stored twice: it is the output layer's int8
matrix, dequantized when loading.

In memory: torch's dynamically quantized Linear (fbgemm/onednn int8 kernels, activations
quantized on each call), rebuilt from the stored integers exactly, with no second rounding.

The weights file is not called ``model.safetensors`` on purpose: a plain Hugging Face
``from_pretrained`` then refuses the directory instead of loading it with random weights."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel

QUANTIZATION_FILE = "quantization.json"
INT8_WEIGHTS_FILE = "model.int8.safetensors"
INT8_FORMAT = "modelmint-int8-per-channel"


@contextmanager
def quiet_torch_quantization() -> Iterator[None]:
    """torch marks its eager int8 modules deprecated in favour of torchao, whose CPU int8
    kernels measured several times slower here; torch is pinned below 2.14, where these
    modules exist, so the notices would only be noise for every user."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao")
        warnings.filterwarnings("ignore", message=r".*quantize_per_(tensor|channel).*")
        yield


def is_int8_dir(path: str | Path) -> bool:
    return (Path(path) / QUANTIZATION_FILE).exists()


def read_quantization(path: str | Path) -> dict[str, Any]:
    return dict(json.loads((Path(path) / QUANTIZATION_FILE).read_text()))


def quantized_linears(model: torch.nn.Module) -> dict[str, DynamicQuantizedLinear]:
    return {n: m for n, m in model.named_modules() if isinstance(m, DynamicQuantizedLinear)}


def _module_name(model: torch.nn.Module, module: torch.nn.Module | None) -> str | None:
    return next((n for n, m in model.named_modules() if m is module), None)


def save_int8(model: PreTrainedModel, out: Path, facts: dict[str, Any]) -> None:
    """Writes a model whose Linear layers torch's dynamic quantization replaced (per-channel
    qint8 weights) in the format above; ``facts`` go into quantization.json."""
    layers = quantized_linears(model)
    if not layers:
        raise ValueError("the model has no int8 Linear layers to save")
    tensors: dict[str, torch.Tensor] = {}
    for name, layer in layers.items():
        weight = layer.weight()
        if weight.qscheme() not in (torch.per_channel_affine, torch.per_channel_symmetric):
            raise ValueError(f"{name}: expected per-channel int8 weights, got {weight.qscheme()}")
        if bool(weight.q_per_channel_zero_points().any()):
            raise ValueError(f"{name}: expected symmetric int8 weights (zero point 0)")
        tensors[f"{name}.weight_int8"] = weight.int_repr().contiguous()
        tensors[f"{name}.weight_scale"] = weight.q_per_channel_scales().float().contiguous()
        bias = layer.bias()
        if bias is not None:
            tensors[f"{name}.bias"] = bias.detach().contiguous()
    tied_embedding = None
    output_name = _module_name(model, model.get_output_embeddings())
    if getattr(model.config, "tie_word_embeddings", False) and output_name in layers:
        tied_embedding = _module_name(model, model.get_input_embeddings())
    prefixes = tuple(f"{n}." for n in layers)
    stored: set[int] = set()
    for key, value in model.state_dict().items():
        if key.startswith(prefixes) or (tied_embedding and key == f"{tied_embedding}.weight"):
            continue
        if value.data_ptr() in stored:  # a tied float weight: stored once, tied again on load
            continue
        stored.add(value.data_ptr())
        tensors[key] = value.detach().contiguous()
    out.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(str(out))
    save_file(tensors, str(out / INT8_WEIGHTS_FILE), metadata={"format": INT8_FORMAT})
    spec = {
        **facts,
        "format": INT8_FORMAT,
        "modules": sorted(layers),
        "tied_embedding": tied_embedding,
        "output_layer": output_name,
    }
    (out / QUANTIZATION_FILE).write_text(json.dumps(spec, indent=2))


def _int8_linear(q: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None) -> Any:
    layer = DynamicQuantizedLinear(q.shape[1], q.shape[0], bias_=bias is not None)
    zeros = torch.zeros(q.shape[0], dtype=torch.long)
    # q * scale / scale rounds back to q exactly, so this does not quantize a second time.
    weight = torch.quantize_per_channel(
        q.float() * scale[:, None], scale.double(), zeros, 0, torch.qint8
    )
    layer.set_weight_bias(weight, bias)
    return layer


def load_int8(path: str | Path) -> PreTrainedModel:
    """A model saved by :func:`save_int8`, in float32 with int8 Linear layers, in eval mode."""
    path = Path(path)
    spec = read_quantization(path)
    if spec.get("format") != INT8_FORMAT:
        raise ValueError(f"{path}: unknown quantized format {spec.get('format')!r}")
    config = AutoConfig.from_pretrained(str(path), local_files_only=True)
    model: Any = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    state = load_file(str(path / INT8_WEIGHTS_FILE))
    int8 = {
        n: (state.pop(f"{n}.weight_int8"), state.pop(f"{n}.weight_scale")) for n in spec["modules"]
    }
    biases = {n: state.pop(f"{n}.bias", None) for n in spec["modules"]}
    # The float tensors go in while the layers to quantize are still float Linear layers.
    missing, unexpected = model.load_state_dict(state, strict=False)
    replaced = {f"{n}.{p}" for n in spec["modules"] for p in ("weight", "bias")}
    tied = f"{spec['tied_embedding']}.weight" if spec.get("tied_embedding") else None
    current = model.state_dict()
    loaded = {current[k].data_ptr() for k in state if k in current}
    missing = [
        k
        for k in missing
        if k not in replaced and k != tied and current[k].data_ptr() not in loaded
    ]
    if missing or unexpected:
        raise ValueError(
            f"{path}: the int8 weights do not match config.json (missing {missing[:5]}, "
            f"unexpected {unexpected[:5]})"
        )
    with quiet_torch_quantization():
        for name, (q, scale) in int8.items():
            parent, _, child = name.rpartition(".")
            owner = model.get_submodule(parent) if parent else model
            setattr(owner, child, _int8_linear(q, scale, biases[name]))
            if name == spec.get("output_layer") and tied:
                embedding = model.get_submodule(spec["tied_embedding"])
                embedding.weight = torch.nn.Parameter(q.float() * scale[:, None])
    model.eval()
    return model
