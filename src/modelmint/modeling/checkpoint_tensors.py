"""The tensors of a saved model, one at a time, without building the model.

Exports to other formats read a checkpoint tensor by tensor, as llama.cpp's converter does, so
that a model larger than half the machine's memory still converts: each tensor is read from
its file (safetensors are memory-mapped), converted and written before the next is read.

Reads every layout a catalog version can have: one ``model.safetensors``, shards listed in
``model.safetensors.index.json``, pickled ``pytorch_model*.bin`` files, and modelmint's own
int8 format (see :mod:`modelmint.modeling.quantized`), whose weights come back dequantized
(``int8 * scale``, exact in float32), with a tied embedding restored from the output layer.
Which files hold the weights, and what a safetensors header lists, are read as an import
reads them (:mod:`modelmint.modeling.checkpoints`), so export and import agree on both."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from safetensors import safe_open

from modelmint.errors import UserError
from modelmint.modeling.checkpoints import hf_weight_files, safetensors_header
from modelmint.modeling.quantized import INT8_WEIGHTS_FILE, is_int8_dir, read_quantization

SKIPPED_SUFFIXES = (".rotary_emb.inv_freq", ".attention.masked_bias", ".attention.bias")


class ExportError(UserError, ValueError):
    """A model that cannot be exported as asked; the message says why and what to do."""


@dataclass(frozen=True)
class SourceTensor:
    """A tensor as the checkpoint names it, its shape, and how to read it (in float32)."""

    name: str
    shape: tuple[int, ...]
    read: Callable[[], torch.Tensor]


def _read_safetensor(file: Path, name: str) -> torch.Tensor:
    with safe_open(str(file), framework="pt") as handle:
        return handle.get_tensor(name).float()


def _shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape, from the file's header, in safetensors' own (name) order."""
    header = safetensors_header(file)
    return {name: tuple(header[name]["shape"]) for name in sorted(header)}


def _from_safetensors(files: list[Path]) -> Iterator[SourceTensor]:
    for file in files:
        for name, shape in _shapes(file).items():
            yield SourceTensor(name, shape, partial(_read_safetensor, file, name))


def _from_pickles(files: list[Path]) -> Iterator[SourceTensor]:
    for file in files:
        # mmap: the file's tensors are paged in as each is read, not all at once
        state = torch.load(str(file), map_location="cpu", mmap=True, weights_only=True)
        for name, tensor in state.items():
            yield SourceTensor(name, tuple(tensor.shape), tensor.float)


def _from_int8(path: Path) -> Iterator[SourceTensor]:
    spec = read_quantization(path)
    file = path / INT8_WEIGHTS_FILE
    shapes = _shapes(file)
    get = partial(_read_safetensor, file)

    def dequantized(module: str) -> torch.Tensor:
        return get(f"{module}.weight_int8") * get(f"{module}.weight_scale")[:, None]

    modules = set(spec["modules"])
    for name in shapes:
        module, _, part = name.rpartition(".")
        if module in modules and part == "weight_scale":
            continue
        if module in modules and part == "weight_int8":
            yield SourceTensor(f"{module}.weight", shapes[name], partial(dequantized, module))
            if module == spec.get("output_layer") and spec.get("tied_embedding"):
                tied = f"{spec['tied_embedding']}.weight"
                yield SourceTensor(tied, shapes[name], partial(dequantized, module))
            continue
        yield SourceTensor(name, shapes[name], partial(get, name))


def source_tensors(path: Path) -> list[SourceTensor]:
    """Every tensor of the checkpoint at ``path`` (none read yet), buffers of no use outside
    the training code left out."""
    if (path / "adapter_config.json").exists():
        raise ExportError(
            f"{path} holds a LoRA adapter, not a model: fold it into its base first with "
            "`mint models merge NAME`, then export the merged version"
        )
    config = (
        json.loads((path / "config.json").read_text()) if (path / "config.json").exists() else {}
    )
    if "quantization_config" in config:
        method = config["quantization_config"].get("quant_method", "?")
        raise ExportError(
            f"{path} holds weights quantized by {method}, which have no float tensors to "
            "export; export the float version it was made from (`mint models show` names "
            "its parent)"
        )
    if is_int8_dir(path):
        found = list(_from_int8(path))
    else:
        # the files transformers would load; pickles are read with weights_only, so safely
        kind, files = hf_weight_files(path, trust_pickle=True)
        found = list(_from_safetensors(files) if kind != "pytorch-pickle" else _from_pickles(files))
    return [t for t in found if not t.name.endswith(SKIPPED_SUFFIXES)]


__all__ = ["ExportError", "SourceTensor", "source_tensors"]
