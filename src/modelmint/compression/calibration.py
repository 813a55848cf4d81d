"""Calibration: how large each input feature of each projection gets on real text, for
activation-aware pruning (Wanda, Sun et al. 2023). The text is the start of the training
split of the dataset in the model's lineage, packed into blocks as pretraining packs it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from modelmint.catalog import Catalog, DatasetRef, ModelRef
from modelmint.compression.versions import CompressionError
from modelmint.modeling import record_text


def lineage_dataset(catalog: Catalog, model: ModelRef) -> DatasetRef:
    """The dataset the model, or the nearest model it was made from, was trained on."""
    found = catalog.lineage_dataset(model)
    if found is None:
        raise CompressionError(
            f"{model.label} has no dataset in its lineage to calibrate on; "
            "use magnitude pruning (--method magnitude) instead"
        )
    return found


def calibration_blocks(
    records: Sequence[dict[str, Any]], tokenizer: Any, *, blocks: int, block_size: int
) -> torch.Tensor:
    """Up to ``blocks`` rows of ``block_size`` tokens. Chat records are rendered with the
    model's chat template, as training rendered them, so the activations are the ones the
    model sees in use."""
    eos = tokenizer.eos_token_id
    stream: list[int] = []
    for r in records:
        text = record_text(r, tokenizer)
        stream.extend([*tokenizer(text, add_special_tokens=False)["input_ids"], eos])
        if len(stream) >= blocks * block_size:
            break
    n = min(blocks, len(stream) // block_size)
    if n == 0:
        raise CompressionError(f"too little text to calibrate on (fewer than {block_size} tokens)")
    return torch.tensor(stream[: n * block_size]).view(n, block_size)


@torch.inference_mode()
def input_norms(
    model: Any, layers: Sequence[torch.nn.Linear], blocks: torch.Tensor, batch_size: int = 8
) -> dict[torch.nn.Linear, torch.Tensor]:
    """For each layer, the L2 norm of each input feature over every calibration token."""
    squares = {layer: torch.zeros(layer.in_features, dtype=torch.float64) for layer in layers}

    def record(layer: Any, args: tuple[torch.Tensor, ...]) -> None:
        x = args[0].reshape(-1, args[0].shape[-1]).double()
        squares[layer] += x.pow(2).sum(dim=0)

    hooks = [layer.register_forward_pre_hook(record) for layer in layers]
    try:
        for start in range(0, len(blocks), batch_size):
            model(input_ids=blocks[start : start + batch_size], use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    return {layer: s.sqrt().float() for layer, s in squares.items()}
