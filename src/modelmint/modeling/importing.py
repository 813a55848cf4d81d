"""Bringing an inspected checkpoint (`modeling.checkpoints`) into a staged directory as a
Hugging Face model directory of safetensors, and writing down where it came from.

Safetensors weights are hard-linked when the staging directory is on the same filesystem as
the source (no second copy of many gigabytes), else copied; either way each file is read once
and hashed as it goes, so the recorded SHA-256 is of the bytes the catalog holds. Pickled and
GGUF weights are loaded by transformers and saved as safetensors; their recorded hashes are of
the files brought in, and of the files stored.

The provenance dictionary is what the catalog keeps with the version (``ModelRef.provenance``).
Its ``weights_sha256`` is the SHA-256 of the ``sha256sum`` listing of the weight files, one
``HASH  NAME`` line each in name order, so ``sha256sum`` can check it by hand.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from modelmint.modeling.checkpoints import (
    SAFETENSORS_INDEX,
    TOKENIZER_DIRS,
    TOKENIZER_FILES,
    Checkpoint,
    safetensors_parameters,
)
from modelmint.modeling.families import family_of
from modelmint.observability import ProgressEvent, ProgressFn, no_progress

CHUNK = 8 << 20
# What a model directory holds besides weights and tokenizer: its configs, model card and
# license. Code (*.py, trust_remote_code), other weight formats and subdirectories (Llama's
# original/ checkpoint) stay behind.
KEPT_SUFFIXES = {".json", ".md", ".txt"}
KEPT_PREFIXES = ("LICENSE", "NOTICE", "USE_POLICY")


@dataclass(frozen=True)
class ImportedCheckpoint:
    num_parameters: int
    provenance: dict[str, Any]


def stage_checkpoint(
    checkpoint: Checkpoint,
    staged: Path,
    *,
    imported_at: datetime,
    progress: ProgressFn = no_progress,
) -> ImportedCheckpoint:
    """Fills ``staged`` (an empty directory) with the checkpoint as a Hugging Face model
    directory; returns its parameter count and provenance."""
    source, converted = checkpoint.source, dict[str, Any]()
    if checkpoint.format.startswith("safetensors"):
        hashes = {
            f.name: link_or_copy(f, staged / f.name, progress) for f in checkpoint.weight_files
        }
        if checkpoint.format == "safetensors-sharded":
            shutil.copy2(source / SAFETENSORS_INDEX, staged / SAFETENSORS_INDEX)
    else:
        hashes = {f.name: hash_file(f, progress) for f in checkpoint.weight_files}
        converted = _convert(checkpoint, staged, progress)
        converted["stored_weights"] = {
            f.name: hash_file(f, progress) for f in _weight_files(staged)
        }
    if checkpoint.format != "gguf":
        _copy_files(_model_files(source), staged)
    if checkpoint.tokenizer_dir is not None:
        _copy_files(_tokenizer_files(checkpoint.tokenizer_dir), staged)
    if checkpoint.options.chat_template is not None and checkpoint.chat_template is not None:
        _set_chat_template(staged, checkpoint.chat_template)
    num_parameters, dtype = safetensors_parameters(_weight_files(staged))
    provenance = {
        "source": str(source),
        "format": checkpoint.format,
        "weights": hashes,
        "weights_sha256": combined_sha256(hashes),
        **converted,
        "license": checkpoint.license or "unknown",
        **_described(staged, checkpoint),
        "parameters": num_parameters,
        "dtype": dtype,
        "imported_at": imported_at.isoformat(timespec="seconds"),
    }
    return ImportedCheckpoint(num_parameters, provenance)


def _convert(checkpoint: Checkpoint, staged: Path, progress: ProgressFn) -> dict[str, Any]:
    """Loads pickled or GGUF weights with transformers and saves them as safetensors."""
    progress(ProgressEvent(f"convert {checkpoint.format} to safetensors", 0, None))
    if checkpoint.format == "gguf":
        from modelmint.modeling.gguf_files import convert_gguf

        facts = convert_gguf(checkpoint, staged)
        found: dict[str, Any] = {"quantization": facts.quantization}
    else:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(
            str(checkpoint.source), dtype="auto", local_files_only=True
        )
        model.save_pretrained(str(staged))
        found = {}
    progress(ProgressEvent(f"convert {checkpoint.format} to safetensors", 1, 1))
    return found


def _described(staged: Path, checkpoint: Checkpoint) -> dict[str, Any]:
    """What the stored directory says of the model: architecture, context, chat template,
    end tokens."""
    from modelmint.modeling.tokenizer import end_token_ids, load_tokenizer

    config = json.loads((staged / "config.json").read_text(encoding="utf-8"))
    family = family_of(config.get("model_type"))
    tokenizer = load_tokenizer(staged)
    template = checkpoint.chat_template
    return {
        "architecture": {
            "family": family.name if family else checkpoint.family.name,
            "model_type": config.get("model_type"),
            "architectures": config.get("architectures") or [checkpoint.family.architecture],
        },
        "context_length": config.get("max_position_embeddings"),
        "rope_scaling": rope_scaling(config),
        "tokenizer_from": str(checkpoint.tokenizer_dir or checkpoint.source),
        "chat_template": template,
        "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest() if template else None,
        "chat_template_from": checkpoint.chat_template_from,
        "end_tokens": [
            {"id": i, "token": tokenizer.convert_ids_to_tokens(i)}
            for i in end_token_ids(staged, tokenizer)
        ],
    }


def rope_scaling(config: dict[str, Any]) -> dict[str, Any] | None:
    """How a config stretches rotary positions past its training length; None when it does
    not. transformers 5 writes ``rope_parameters`` for every model (``rope_type: default``
    when nothing scales; one per attention type for Gemma 3); older configs ``rope_scaling``."""
    rope = config.get("rope_scaling") or config.get("rope_parameters")
    if not isinstance(rope, dict):
        return None
    nested = [v for v in rope.values() if isinstance(v, dict)]
    kinds = {p.get("rope_type") or p.get("type") or "default" for p in (nested or [rope])}
    return rope if kinds - {"default"} else None


def link_or_copy(src: Path, dest: Path, progress: ProgressFn = no_progress) -> str:
    """Puts ``src`` at ``dest`` (a hard link on the same filesystem, else a copy) and returns
    its SHA-256, reading the file once."""
    try:
        os.link(src, dest)
    except OSError as e:  # another filesystem, or one that does not link (or not for us)
        if e.errno not in (errno.EXDEV, errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EMLINK):
            raise
        return _copy_hashing(src, dest, progress)
    return hash_file(dest, progress)


def _copy_hashing(src: Path, dest: Path, progress: ProgressFn) -> str:
    digest, size, done = hashlib.sha256(), src.stat().st_size, 0
    with src.open("rb") as fin, dest.open("wb") as fout:
        while chunk := fin.read(CHUNK):
            digest.update(chunk)
            fout.write(chunk)
            done += len(chunk)
            progress(ProgressEvent(f"copy {src.name}", done, size))
    shutil.copystat(src, dest)
    return digest.hexdigest()


def hash_file(path: Path, progress: ProgressFn = no_progress) -> str:
    digest, size, done = hashlib.sha256(), path.stat().st_size, 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            progress(ProgressEvent(f"hash {path.name}", done, size))
    return digest.hexdigest()


def combined_sha256(hashes: dict[str, str]) -> str:
    """The SHA-256 of ``sha256sum``'s listing of the files, in name order."""
    listing = "".join(f"{digest}  {name}\n" for name, digest in sorted(hashes.items()))
    return hashlib.sha256(listing.encode()).hexdigest()


def _weight_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.safetensors"))


def _model_files(source: Path) -> Iterable[Path]:
    """The configs, card and license of a model directory; not its weights or tokenizer."""
    for f in sorted(source.iterdir()):
        kept = f.suffix in KEPT_SUFFIXES or f.name.startswith(KEPT_PREFIXES)
        weights = f.name.startswith("pytorch_model") or f.name == SAFETENSORS_INDEX
        if f.is_file() and kept and not weights and f.name not in TOKENIZER_FILES:
            yield f


def _tokenizer_files(directory: Path) -> Iterable[Path]:
    yield from (directory / n for n in TOKENIZER_FILES if (directory / n).is_file())
    yield from (directory / n for n in TOKENIZER_DIRS if (directory / n).is_dir())


def _copy_files(files: Iterable[Path], staged: Path) -> None:
    for f in files:
        if f.is_dir():
            shutil.copytree(f, staged / f.name, dirs_exist_ok=True)
        else:
            shutil.copy2(f, staged / f.name)


def _set_chat_template(staged: Path, template: str) -> None:
    """Makes ``template`` the stored tokenizer's one chat template: chat_template.jinja, which
    transformers reads before tokenizer_config.json's, and none left in the latter."""
    (staged / "chat_template.jinja").write_text(template, encoding="utf-8")
    config_file = staged / "tokenizer_config.json"
    if config_file.exists():
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if config.pop("chat_template", None) is not None:
            config_file.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
