"""The tokenizer format modelmint saves and serves: a Hugging Face fast tokenizer over a
byte-level BPE, with special tokens and a ChatML chat template stored next to the model so
training and serving can never disagree about how a conversation becomes tokens."""

from __future__ import annotations

from pathlib import Path

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


def stop_token_ids(tok: PreTrainedTokenizerBase) -> list[int]:
    """Token ids that end a generation: end of text, and the end of a chat turn or the
    start of a new one (a small model sometimes skips the end marker)."""
    ids = []
    for t in (END_OF_TEXT, IM_END, IM_START):
        i = tok.convert_tokens_to_ids(t)
        if isinstance(i, int) and i != tok.unk_token_id:
            ids.append(i)
    if tok.eos_token_id is not None and tok.eos_token_id not in ids:
        ids.append(tok.eos_token_id)
    return ids
