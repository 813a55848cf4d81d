"""What an open-weight checkpoint brought from outside holds, read before a byte of it is
copied: its format, weight files, family, tokenizer, chat template and size.

Every reason to refuse one is found here, so a refusal comes at once, with what to pass or
fix, rather than after gigabytes were copied. Nothing here loads weights: a safetensors
file's header says how many parameters it holds and in which dtype, and a GGUF file's
metadata (``modeling.gguf_files``) says the same of its tensors. Nothing is downloaded:
every load is ``local_files_only``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelmint.errors import UserError
from modelmint.modeling.families import (
    TEXT_MODEL_INSIDE,
    ModelFamily,
    family_of,
    supported_summary,
)


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be imported as it is; the message says what to pass or fix."""


@dataclass(frozen=True)
class ImportOptions:
    license: str | None = None  # an SPDX id or a name; else read from the checkpoint
    trust_pickle: bool = False  # accept pickled pytorch_model*.bin weights
    tokenizer: Path | None = None  # take the tokenizer from this directory instead
    chat_template: Path | None = None  # a Jinja file: the chat template to serve with
    no_chat_template: bool = False  # a base model: import it without one


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint found importable: where it is, as what, and what inspecting it read."""

    source: Path  # absolute: the directory, or the .gguf file
    format: str  # "safetensors", "safetensors-sharded", "pytorch-pickle" or "gguf"
    weight_files: tuple[Path, ...]
    family: ModelFamily
    license: str | None  # given, or found in the checkpoint; None when neither says
    weight_bytes: int  # what the weights take in memory once loaded
    tokenizer_dir: Path | None  # where the tokenizer files are; None: inside the GGUF file
    chat_template: str | None  # the template to serve with: the model's own, or the file's
    chat_template_from: str | None  # "checkpoint", the tokenizer directory or the file
    options: ImportOptions
    gguf_dtype: str | None = None  # the dtype a GGUF file's tensors become


# Files of a Hugging Face tokenizer, copied with it (`has_tokenizer` says which must be there).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
)
TOKENIZER_DIRS = ("additional_chat_templates",)
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE_INDEX = "pytorch_model.bin.index.json"
DTYPE_NAMES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F64": "float64"}
GB = 1e9


def inspect_checkpoint(path: Path, options: ImportOptions) -> Checkpoint:
    """A checkpoint found importable, or a :class:`CheckpointError` saying why it is not."""
    from modelmint.modeling.gguf_files import inspect_gguf

    source = path.expanduser().absolute()
    if not source.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    if source.is_file() and source.suffix.lower() == ".gguf":
        found = inspect_gguf(source, options)
    elif source.is_dir():
        found = _inspect_hf_dir(source, options)
    else:
        raise CheckpointError(
            f"{path} is neither a Hugging Face model directory (config.json with *.safetensors "
            "weights) nor a .gguf file"
        )
    _check_memory(found)
    return found


def _inspect_hf_dir(source: Path, options: ImportOptions) -> Checkpoint:
    config = read_config(source)
    family = require_family(config, source)
    fmt, weights = hf_weight_files(source, options.trust_pickle)
    tokenizer_dir = options.tokenizer or source
    tokenizer = load_checked_tokenizer(tokenizer_dir, source, options)
    vocab_size = config.get("vocab_size")
    if isinstance(vocab_size, int) and len(tokenizer) > vocab_size:
        raise CheckpointError(
            f"the tokenizer in {tokenizer_dir} has {len(tokenizer)} tokens, more than the "
            f"{vocab_size} embeddings of {source}: it is not this model's tokenizer"
        )
    template, template_from = choose_chat_template(tokenizer, tokenizer_dir, options, source)
    return Checkpoint(
        source,
        fmt,
        tuple(weights),
        family,
        options.license or readme_license(source),
        sum(f.stat().st_size for f in weights),
        tokenizer_dir.expanduser().absolute(),
        template,
        template_from,
        options,
    )


def read_config(source: Path) -> dict[str, Any]:
    config_file = source / "config.json"
    if not config_file.is_file():
        if any(source.glob("*.safetensors")) or any(source.glob("pytorch_model*.bin")):
            raise CheckpointError(
                f"{source} has weights but no config.json: copy the config.json published "
                "with them into it"
            )
        ggufs = sorted(source.glob("*.gguf"))
        if ggufs:
            raise CheckpointError(
                f"{source} holds GGUF files: import one by its own path, e.g. {ggufs[0]}"
            )
        raise CheckpointError(
            f"{source} is neither a Hugging Face model directory (config.json with "
            "*.safetensors weights) nor a .gguf file"
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{config_file} is not valid JSON: {e}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_file} is not a model configuration (not a JSON object)")
    return config


def require_family(config: dict[str, Any], source: Path) -> ModelFamily:
    """The supported family a config.json describes, or why it is refused."""
    model_type = config.get("model_type")
    architectures = ", ".join(config.get("architectures") or []) or "no architectures listed"
    if model_type in TEXT_MODEL_INSIDE:
        raise CheckpointError(
            f"{source} is the multimodal {model_type} model ({architectures}): only its text "
            f"model is supported; import a text-only checkpoint (model_type "
            f"{TEXT_MODEL_INSIDE[model_type]})"
        )
    family = family_of(model_type)
    if family is None:
        raise CheckpointError(
            f"{source} is a {model_type or 'model without a model_type'} ({architectures}), "
            f"which modelmint does not support; supported: {supported_summary()}"
        )
    return family


def hf_weight_files(source: Path, trust_pickle: bool) -> tuple[str, list[Path]]:
    """The format and weight files transformers would load from ``source``."""
    index = source / SAFETENSORS_INDEX
    if index.is_file():
        return "safetensors-sharded", _indexed_files(source, index)
    if (source / "model.safetensors").is_file():
        return "safetensors", [source / "model.safetensors"]
    pickles = sorted(source.glob("pytorch_model*.bin"))
    if pickles:
        if not trust_pickle:
            raise CheckpointError(
                f"{source} holds its weights as pickled {pickles[0].name}: loading a pickle "
                "can run any code put in it. If you trust where it came from, pass "
                "--trust-pickle (the weights are then stored as safetensors)"
            )
        if (source / PICKLE_INDEX).is_file():
            return "pytorch-pickle", _indexed_files(source, source / PICKLE_INDEX)
        return "pytorch-pickle", pickles
    others = sorted(p.name for p in source.glob("*.safetensors"))
    if others:
        raise CheckpointError(
            f"{source} has {', '.join(others)} but neither model.safetensors nor "
            f"{SAFETENSORS_INDEX}: transformers would not find its weights"
        )
    raise CheckpointError(
        f"{source} has a config.json but no weights: expected model.safetensors, or shards "
        f"listed in {SAFETENSORS_INDEX}"
    )


def _indexed_files(source: Path, index: Path) -> list[Path]:
    try:
        names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{index} is not a weight index: {e}") from None
    missing = [n for n in names if not (source / n).is_file()]
    if missing:
        raise CheckpointError(
            f"{index.name} lists {', '.join(missing)}, missing from {source}: copy every shard"
        )
    return [source / n for n in names]


def has_tokenizer(directory: Path) -> bool:
    """Whether ``directory`` holds a tokenizer's vocabulary in a form transformers reads."""
    if (directory / "tokenizer.json").is_file() or (directory / "tokenizer.model").is_file():
        return True
    return (directory / "vocab.json").is_file() and (directory / "merges.txt").is_file()


def load_checked_tokenizer(tokenizer_dir: Path, source: Path, options: ImportOptions) -> Any:
    """The tokenizer to import with the model, loaded, or why there is none."""
    from transformers import AutoTokenizer

    tokenizer_dir = tokenizer_dir.expanduser()
    if not has_tokenizer(tokenizer_dir):
        where = f"--tokenizer {options.tokenizer}" if options.tokenizer else str(source)
        raise CheckpointError(
            f"no tokenizer in {where}: expected tokenizer.json (or tokenizer.model, or "
            "vocab.json with merges.txt), with tokenizer_config.json; "
            + (
                "pass a directory that has them"
                if options.tokenizer
                else "pass --tokenizer DIR to take the tokenizer from another directory "
                "(the base model's, for a fine-tune published without one)"
            )
        )
    try:
        return AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    except Exception as e:  # a file transformers or the tokenizers library cannot read
        raise CheckpointError(f"the tokenizer in {tokenizer_dir} does not load: {e}") from None


def choose_chat_template(
    tokenizer: Any, tokenizer_dir: Path | None, options: ImportOptions, source: Path
) -> tuple[str | None, str | None]:
    """The chat template to serve with, and where it came from; refuses a model that has
    none unless it is imported as a base model."""
    if options.chat_template is not None:
        text = read_template_file(options.chat_template)
        try_template(tokenizer, text, str(options.chat_template))
        return text, str(options.chat_template.expanduser().absolute())
    own = tokenizer.chat_template
    if isinstance(own, dict):  # named templates: the default one is what a chat uses
        own = own.get("default") or next(iter(own.values()), None)
    if own:
        return str(own), "checkpoint" if options.tokenizer is None else str(tokenizer_dir)
    if options.no_chat_template:
        return None, None
    raise CheckpointError(
        f"{source} has no chat template (no chat_template.jinja, none in "
        "tokenizer_config.json): pass --chat-template FILE (a Jinja file) to serve chats "
        "with, or --no-chat-template to import it as a base model, served only on "
        "/v1/completions"
    )


def read_template_file(path: Path) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"--chat-template {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"--chat-template {path} cannot be read: {e}") from None


def try_template(tokenizer: Any, text: str, where: str) -> None:
    """Renders a one-turn conversation with ``text``, so a broken template is refused now
    rather than on the first chat request."""
    try:
        tokenizer.apply_chat_template(
            [{"role": "user", "content": "Hello"}],
            chat_template=text,
            tokenize=False,
            add_generation_prompt=True,
        )
    except Exception as e:  # jinja2's syntax and runtime errors, and a template's own raise
        raise CheckpointError(f"the chat template {where} fails on a one-turn chat: {e}") from None


def readme_license(source: Path) -> str | None:
    """The ``license`` of a model card's front matter (README.md), as published checkpoints
    state it; None when there is no card or it names none."""
    import yaml

    readme = source / "README.md"
    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("---"):
        return None
    front = text[3:].split("\n---", 1)[0]
    try:
        card = yaml.safe_load(front)
    except yaml.YAMLError:
        return None
    if not isinstance(card, dict) or not card.get("license"):
        return None
    license_id = str(card["license"])
    # "other" means the card names it: Llama's and Gemma's own licenses
    return str(card.get("license_name") or license_id) if license_id == "other" else license_id


def safetensors_header(path: Path) -> dict[str, Any]:
    """The tensors a safetensors file holds (name -> dtype, shape, offsets), from its header
    alone: 8 bytes of length, then that much JSON."""
    size = path.stat().st_size
    with path.open("rb") as f:
        length = int.from_bytes(f.read(8), "little")
        if size < 8 or length > size - 8:
            raise CheckpointError(f"{path} is not a safetensors file")
        try:
            header = json.loads(f.read(length))
        except ValueError:
            raise CheckpointError(f"{path} is not a safetensors file") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a safetensors file")
    header.pop("__metadata__", None)
    return header


def safetensors_parameters(files: list[Path]) -> tuple[int, str]:
    """Parameters in these safetensors files, and the dtype most of them are stored in."""
    by_dtype: Counter[str] = Counter()
    for f in files:
        for tensor in safetensors_header(f).values():
            by_dtype[tensor["dtype"]] += math.prod(tensor["shape"])
    dtype = by_dtype.most_common(1)[0][0] if by_dtype else "F32"
    return sum(by_dtype.values()), DTYPE_NAMES.get(dtype, dtype.lower())


def available_memory() -> int | None:
    """Bytes of memory this machine can give a process now without swapping: the kernel's
    MemAvailable, or psutil's reading where there is no /proc; None when neither says."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def _check_memory(checkpoint: Checkpoint) -> None:
    available = available_memory()
    if available is None or checkpoint.weight_bytes <= available:
        return
    what = (
        f"dequantized to {checkpoint.gguf_dtype}, its weights take"
        if checkpoint.gguf_dtype
        else "its weights take"
    )
    raise CheckpointError(
        f"{checkpoint.source}: {what} {checkpoint.weight_bytes / GB:.1f} GB, more than the "
        f"{available / GB:.1f} GB of memory available on this machine, which must hold them "
        "whole to serve the model: import it where there is more memory, or a smaller model"
    )
