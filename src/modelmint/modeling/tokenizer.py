"""The tokenizer format modelmint saves and serves: a Hugging Face fast tokenizer over a
byte-level BPE, with special tokens and a ChatML chat template stored next to the model so
training and serving can never disagree about how a conversation becomes tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

END_OF_TEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
PAD = "<|pad|>"
MASK = "<|mask|>"  # for masked-LM pretraining; a causal LM never sees it
SPECIAL_TOKENS = [END_OF_TEXT, IM_START, IM_END, PAD, MASK]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def wrap_tokenizer(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """Turns a trained ``tokenizers.Tokenizer`` into the fast tokenizer we save with a model."""
    has_mask = tok.token_to_id(MASK) is not None
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=END_OF_TEXT,
        eos_token=END_OF_TEXT,
        pad_token=PAD,
        mask_token=MASK if has_mask else None,
        additional_special_tokens=[IM_START, IM_END],
        clean_up_tokenization_spaces=False,
        model_max_length=1 << 30,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def stop_token_ids(tok: PreTrainedTokenizerBase, model_dir: str | Path | None = None) -> list[int]:
    """Token ids that end a generation: end of text, and the end of a chat turn or the
    start of a new one (a small model sometimes skips the end marker); then the end tokens
    of the model in ``model_dir`` (`end_token_ids`), such as Llama 3's ``<|eot_id|>`` or
    Gemma's ``<end_of_turn>``, which its tokenizer's eos alone misses."""
    ids = []
    for t in (END_OF_TEXT, IM_END, IM_START):
        i = tok.convert_tokens_to_ids(t)
        if isinstance(i, int) and i != tok.unk_token_id:
            ids.append(i)
    own = [tok.eos_token_id, *(end_token_ids(model_dir) if model_dir is not None else [])]
    ids += [i for i in dict.fromkeys(own) if i is not None and i not in ids]
    return ids


def end_token_ids(model_dir: str | Path, tok: PreTrainedTokenizerBase | None = None) -> list[int]:
    """Every id that ends a generation of the model in ``model_dir``, as its files state
    them: generation_config.json's ``eos_token_id`` (an id or a list), then config.json's,
    then the tokenizer's eos when ``tok`` is given. What serving and evaluation stop on, what
    an import records and what an Ollama Modelfile stops on all start from this list."""
    stated_ids: list[Any] = []
    for name in ("generation_config.json", "config.json"):
        try:
            stated = json.loads((Path(model_dir) / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        value = stated.get("eos_token_id") if isinstance(stated, dict) else None
        stated_ids += value if isinstance(value, list) else [value]
    if tok is not None:
        stated_ids.append(tok.eos_token_id)
    return list(
        dict.fromkeys(i for i in stated_ids if isinstance(i, int) and not isinstance(i, bool))
    )
