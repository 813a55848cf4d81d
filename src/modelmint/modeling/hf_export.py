"""A catalog model as a clean Hugging Face directory: what ``from_pretrained`` needs and
nothing of modelmint's own (no ``modelmint.json``, no run files), so it can be uploaded to a
hub, served by vLLM or loaded by anyone's transformers.

The weights are loaded by transformers and saved again, which writes canonical tensor names
and a config that matches them, in safetensors (sharded when large). An int8 version made by
``mint compress quantize`` is dequantized (``int8 * scale``, exact in float32): the result
computes what the int8 model's weights say, in a format every tool reads; refusing it would
leave no way to take a compressed model elsewhere, and torch's int8 modules have no Hugging
Face format. A torchao-quantized version and a LoRA adapter are refused with what to do."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig, PreTrainedModel

from modelmint.modeling.checkpoint_tensors import ExportError, source_tensors
from modelmint.modeling.quantized import is_int8_dir
from modelmint.modeling.tokenizer import load_tokenizer
from modelmint.observability.progress import ProgressEvent, ProgressFn, no_progress

DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class HFExport:
    path: Path
    dtype: str
    parameters: int
    dequantized: bool  # made from an int8 version
    notes: list[str] = field(default_factory=list)


def _dequantized_model(model_dir: Path) -> PreTrainedModel:
    config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    state = {t.name: t.read() for t in source_tensors(model_dir)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    tied = {k for k in missing if k.endswith("lm_head.weight") and config.tie_word_embeddings}
    if set(missing) - tied or unexpected:
        raise ExportError(
            f"{model_dir}: the int8 weights do not match config.json (missing "
            f"{sorted(set(missing) - tied)[:5]}, unexpected {unexpected[:5]})"
        )
    model.tie_weights()
    return model


def _load(model_dir: Path) -> tuple[PreTrainedModel, bool]:
    source_tensors(model_dir)  # refuses adapters and torchao versions with what to do
    if is_int8_dir(model_dir):
        return _dequantized_model(model_dir), True
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir), local_files_only=True, dtype="auto"
    )
    return model, False


def export_hf(
    model_dir: Path, out: Path, *, quant: str | None = None, progress: ProgressFn = no_progress
) -> HFExport:
    """Writes the model at ``model_dir`` to the new directory ``out``; ``quant`` casts the
    weights to f16 or bf16 (the checkpoint's own dtype when None)."""
    if quant is not None and quant not in DTYPES:
        raise ExportError(
            f"--quant {quant} is a GGUF type; a Hugging Face export takes f16 or bf16, or "
            "none to keep the checkpoint's dtype"
        )
    task = "writing Hugging Face files"
    progress(ProgressEvent(task, 0, 3, {"step": "loading weights"}))
    model, dequantized = _load(model_dir)
    if quant is not None:
        model = cast(Any, model).to(DTYPES[quant])
    model.eval()
    progress(ProgressEvent(task, 1, 3, {"step": "writing weights"}))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    progress(ProgressEvent(task, 2, 3, {"step": "writing tokenizer"}))
    notes: list[str] = []
    tok = load_tokenizer(model_dir)
    if not tok.chat_template:
        notes.append("the tokenizer has no chat template: chat endpoints will refuse it")
    tok.save_pretrained(str(out))
    if (model_dir / "generation_config.json").exists():
        generation = GenerationConfig.from_pretrained(str(model_dir), local_files_only=True)
        generation.save_pretrained(str(out))
    progress(ProgressEvent(task, 3, 3))
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    parameters = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    config = json.loads((out / "config.json").read_text())
    config.pop("_name_or_path", None)  # the catalog's path means nothing elsewhere
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return HFExport(out, dtype, parameters, dequantized, notes)


__all__ = ["HFExport", "export_hf"]
