"""GGUF files (llama.cpp's format) brought in as models: what one holds, read from its
metadata, and the Hugging Face directory it becomes.

transformers reads GGUF files through the ``gguf`` package and dequantizes them; the result is
stored as safetensors, so serving, evaluating and compressing an imported GGUF model is the
same as any other. Quantized weights become bfloat16, the dtype these families are published
in; F16, BF16 and F32 files keep their own. A GGUF file names one end-of-generation token per
role (end of text, of turn, of message), where a Hugging Face directory lists them all in
generation_config.json: the converted directory lists every one the file names.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelmint.modeling.checkpoints import (
    Checkpoint,
    CheckpointError,
    ImportOptions,
    choose_chat_template,
    load_checked_tokenizer,
)
from modelmint.modeling.families import family_of_gguf, supported_summary

FLOAT_TYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
BYTES_PER_PARAMETER = {"float32": 4, "float16": 2, "bfloat16": 2}
# end of text, of a turn, of a message (a tool call's)
END_TOKEN_KEYS = tuple(f"tokenizer.ggml.{role}_token_id" for role in ("eos", "eot", "eom"))


@dataclass(frozen=True)
class GgufFacts:
    architecture: str  # general.architecture
    num_parameters: int
    quantization: str  # the type most weights are stored in: Q4_K, Q8_0, F16...
    dtype: str  # what the weights become once dequantized
    end_token_ids: list[int]
    license: str | None


def _reader(path: Path) -> Any:
    try:
        from gguf import GGUFReader
    except ImportError:
        raise CheckpointError(
            "reading a GGUF file needs the gguf package: pip install gguf"
        ) from None
    try:
        return GGUFReader(str(path))
    except (ValueError, OSError) as e:
        raise CheckpointError(f"{path} is not a GGUF file: {e}") from None


def read_gguf(path: Path) -> GgufFacts:
    """What a GGUF file's metadata and tensor table say, without reading its tensors."""
    reader = _reader(path)

    def field(key: str) -> Any:
        found = reader.fields.get(key)
        return found.contents() if found is not None else None

    matrices: Counter[str] = Counter()
    total = 0
    for tensor in reader.tensors:
        total += int(tensor.n_elements)
        if len(tensor.shape) >= 2:
            matrices[tensor.tensor_type.name] += int(tensor.n_elements)
    quantization = matrices.most_common(1)[0][0] if matrices else "F32"
    ends = [int(i) for key in END_TOKEN_KEYS if (i := field(key)) is not None]
    return GgufFacts(
        architecture=str(field("general.architecture") or ""),
        num_parameters=total,
        quantization=quantization,
        dtype=FLOAT_TYPES.get(quantization, "bfloat16"),
        end_token_ids=list(dict.fromkeys(ends)),
        license=str(field("general.license")) if field("general.license") else None,
    )


def inspect_gguf(source: Path, options: ImportOptions) -> Checkpoint:
    from transformers import AutoTokenizer

    facts = read_gguf(source)
    family = family_of_gguf(facts.architecture)
    if family is None:
        raise CheckpointError(
            f"{source} is a {facts.architecture or 'GGUF model of no architecture'} model, "
            f"which modelmint does not support; supported: {supported_summary()}"
        )
    if options.tokenizer is not None:
        tokenizer_dir: Path | None = options.tokenizer.expanduser().absolute()
        tokenizer = load_checked_tokenizer(options.tokenizer, source, options)
    else:
        tokenizer_dir = None
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                str(source.parent), gguf_file=source.name, local_files_only=True
            )
        except Exception as e:  # a vocabulary transformers cannot rebuild
            raise CheckpointError(
                f"the tokenizer in {source} does not load ({e}): pass --tokenizer DIR to take "
                "the tokenizer from a Hugging Face directory of the same model"
            ) from None
    template, template_from = choose_chat_template(tokenizer, tokenizer_dir, options, source)
    return Checkpoint(
        source,
        "gguf",
        (source,),
        family,
        options.license or facts.license,
        facts.num_parameters * BYTES_PER_PARAMETER[facts.dtype],
        tokenizer_dir,
        template,
        template_from,
        options,
        gguf_dtype=facts.dtype,
    )


def convert_gguf(checkpoint: Checkpoint, out_dir: Path) -> GgufFacts:
    """Writes the GGUF file's model as a Hugging Face directory (safetensors), with its
    tokenizer unless another directory gives it, and every end token the file names."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    source, facts = checkpoint.source, read_gguf(checkpoint.source)
    model = AutoModelForCausalLM.from_pretrained(
        str(source.parent),
        gguf_file=source.name,
        dtype=getattr(torch, facts.dtype),
        # dense weights, which save as safetensors: kept packed, they would not save at all
        quantization_config=GgufConfig(dequantize=True),
        local_files_only=True,
    )
    model.save_pretrained(str(out_dir))
    del model
    if checkpoint.tokenizer_dir is None:
        tokenizer = AutoTokenizer.from_pretrained(
            str(source.parent), gguf_file=source.name, local_files_only=True
        )
        tokenizer.save_pretrained(str(out_dir))
    generation_file = out_dir / "generation_config.json"
    generation = json.loads(generation_file.read_text()) if generation_file.exists() else {}
    if facts.end_token_ids:
        generation["eos_token_id"] = facts.end_token_ids
    generation_file.write_text(json.dumps(generation, indent=2) + "\n")
    return facts
