"""A Hugging Face byte-level BPE tokenizer as GGUF metadata, the way llama.cpp's converter
writes it (``_set_vocab_gpt2``), so llama.cpp, Ollama and transformers' GGUF loader all
tokenize a prompt to the ids the model was trained on.

- ``tokenizer.ggml.model`` is ``gpt2`` (byte-level BPE); the tokens are the vocabulary's own
  byte-level spellings, numbered as the model's embedding rows, padded with ``[PADn]`` rows
  up to the config's vocabulary size; special added tokens are CONTROL, other added tokens
  USER_DEFINED (llama.cpp matches both whole in text).
- ``tokenizer.ggml.pre`` names the pre-tokenizer regex. llama.cpp picks it by hashing how a
  published tokenizer encodes a test string, which finds nothing for a vocabulary trained
  here; the regex is the same whatever the merges, so it is read from the tokenizer.
- merges, bos/eos/pad ids and the chat template come from gguf's own ``SpecialVocab``, the
  reader llama.cpp uses. Whether BOS/EOS are added is measured on the tokenizer itself
  (and always written): llama.cpp's default for a missing flag is not transformers'.

SentencePiece-style vocabularies (``tokenizer.model``, or byte-fallback BPE such as
Gemma's and Mistral's published ones) are not written here: llama.cpp's converter handles
them with the ``sentencepiece`` package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from modelmint.modeling.checkpoint_tensors import ExportError

# The split regexes of the byte-level pre-tokenizers llama.cpp implements, as tokenizer.json
# spells them, by llama.cpp's name for each.
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPLITS = {LLAMA3_SPLIT: "llama-bpe", QWEN2_SPLIT: "qwen2"}
NORMALIZERS = (None, "NFC")  # NFC leaves text as typed in all but rare compositions


@dataclass(frozen=True)
class Vocabulary:
    """What the GGUF says about the tokenizer, for the Modelfile and the report."""

    tokens: list[str]
    pre: str
    add_bos: bool
    add_eos: bool
    bos_token: str | None
    eos_token: str | None


def _pre_tokenizer_name(spec: dict[str, Any] | None) -> str | None:
    """llama.cpp's name for a ``tokenizer.json`` pre-tokenizer, or None for one it lacks."""
    if spec is None:
        return None
    parts = spec["pretokenizers"] if spec.get("type") == "Sequence" else [spec]
    kinds = [p.get("type") for p in parts]
    if kinds[-1:] != ["ByteLevel"] or parts[-1].get("add_prefix_space"):
        return None  # llama.cpp's byte-level vocabularies never add a space in front
    if kinds == ["ByteLevel"] and parts[0].get("use_regex", True):
        return "gpt-2"
    if kinds == ["Digits", "ByteLevel"] and parts[0].get("individual_digits"):
        return "smollm"  # SmolLM's: one token per digit, then GPT-2's regex
    if kinds == ["Split", "ByteLevel"] and not parts[1].get("use_regex", True):
        pattern = parts[0].get("pattern", {}).get("Regex")
        return SPLITS.get(pattern) if parts[0].get("behavior") == "Isolated" else None
    return None


def load_checked_tokenizer(model_dir: Path) -> tuple[PreTrainedTokenizerBase, str]:
    """The model's tokenizer as transformers loads it, and llama.cpp's name for its
    pre-tokenizer; raises for a tokenizer this export cannot write faithfully.

    The tokenizer is judged as loaded, not as ``tokenizer.json`` spells it: transformers
    rebuilds some families' pre-tokenizers from the model type (a qwen2 model splits digits
    one by one whatever its file says), and serving tokenizes as transformers does."""
    try:
        tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        spec = json.loads(tok.backend_tokenizer.to_str())
    except (OSError, ValueError, AttributeError) as e:
        raise ExportError(
            f"{model_dir}: no fast tokenizer to export ({e}); GGUF export writes byte-level "
            "BPE tokenizers saved by Hugging Face"
        ) from e
    model = spec.get("model", {})
    decoder = (spec.get("decoder") or {}).get("type")
    normalizer = (spec.get("normalizer") or {}).get("type")
    if model.get("type") != "BPE" or model.get("byte_fallback") or decoder != "ByteLevel":
        raise ExportError(
            f"{model_dir}: the tokenizer is a {model.get('type')} model with a {decoder} decoder "
            "(SentencePiece style); GGUF export writes byte-level BPE tokenizers only; convert "
            "this model with llama.cpp's convert_hf_to_gguf.py"
        )
    pre = _pre_tokenizer_name(spec.get("pre_tokenizer"))
    if pre is None or normalizer not in NORMALIZERS:
        raise ExportError(
            f"{model_dir}: llama.cpp has no pre-tokenizer matching this tokenizer's "
            f"(pre_tokenizer {json.dumps(spec.get('pre_tokenizer'))[:200]}, normalizer "
            f"{normalizer}); supported: GPT-2's regex, Llama 3's, Qwen2's and SmolLM's"
        )
    return tok, pre


def _adds(tok: PreTrainedTokenizerBase) -> tuple[bool, bool]:
    """Whether encoding plain text adds BOS in front and EOS behind."""
    plain = tok("a", add_special_tokens=False)["input_ids"]
    full = tok("a")["input_ids"]
    extra = len(full) > len(plain)
    return (
        extra and tok.bos_token_id is not None and full[0] == tok.bos_token_id,
        extra and tok.eos_token_id is not None and full[-1] == tok.eos_token_id,
    )


def _token_list(tok: PreTrainedTokenizerBase, vocab_size: int) -> tuple[list[str], list[int]]:
    """llama.cpp's ``get_vocab_base``: every id up to the model's vocabulary size."""
    vocab: dict[str, int] = tok.get_vocab()
    if max(vocab.values()) >= vocab_size:
        raise ExportError(
            f"the tokenizer has ids up to {max(vocab.values())} but the model's vocabulary "
            f"holds {vocab_size} rows"
        )
    by_id = {i: t for t, i in vocab.items()}
    added = tok.get_added_vocab()
    decoder = getattr(tok, "added_tokens_decoder", {})
    tokens: list[str] = []
    types: list[int] = []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        token = by_id[i]
        if token in added:
            special = decoder[i].special if i in decoder else True
            looks_special = token.startswith("<|") and token.endswith("|>")
            types.append(
                gguf.TokenType.CONTROL if special or looks_special else gguf.TokenType.USER_DEFINED
            )
        else:
            types.append(gguf.TokenType.NORMAL)
        tokens.append(token)
    return tokens, types


def write_vocabulary(writer: gguf.GGUFWriter, model_dir: Path, vocab_size: int) -> Vocabulary:
    tok, pre = load_checked_tokenizer(model_dir)
    tokens, types = _token_list(tok, vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    special = gguf.SpecialVocab(model_dir, load_merges=True, n_vocab=len(tokens))
    if not special.merges:
        raise ExportError(f"{model_dir}: tokenizer.json has no BPE merges")
    add_bos, add_eos = _adds(tok)
    special.add_special_token["bos"] = add_bos
    special.add_special_token["eos"] = add_eos
    if special.chat_template is None and tok.chat_template:
        special.chat_template = tok.chat_template
    special.add_to_gguf(writer, quiet=True)
    return Vocabulary(tokens, pre, add_bos, add_eos, tok.bos_token, tok.eos_token)


__all__ = ["Vocabulary", "load_checked_tokenizer", "write_vocabulary"]
