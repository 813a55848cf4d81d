"""The text side of a served model: its tokenizer, chat template (with the template
variables it was trained with), stop tokens and context length, and how token ids are
shown in logprobs. Shared by every engine, so the gateway counts and bills the same tokens
whichever engine generates them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoConfig

from modelmint.modeling import chat_template_kwargs, load_tokenizer, render_chat, stop_token_ids
from modelmint.serving.logprobs import (
    PromptScores,
    TokenLogprob,
    TokenTexts,
    prompt_text_offsets,
    token_logprob,
)


@dataclass(frozen=True)
class TokenizerInfo:
    """What a client needs to tokenize as the server does (lm-evaluation-harness's remote
    tokenizer reads the special tokens from here)."""

    tokenizer_class: str
    bos_token: str | None
    eos_token: str | None
    pad_token: str | None
    unk_token: str | None
    model_max_length: int
    chat_template: str | None


class TextCodec:
    def __init__(self, path: str | Path) -> None:
        self.tokenizer = load_tokenizer(Path(path))
        config = AutoConfig.from_pretrained(str(path), local_files_only=True)
        self.context_length = int(config.max_position_embeddings)
        # the model's own end tokens too (Llama 3's <|eot_id|>, Gemma's <end_of_turn>)
        self.stop_ids = set(stop_token_ids(self.tokenizer, Path(path)))
        # the template variables training rendered with (Qwen3's enable_thinking)
        self.template_kwargs = chat_template_kwargs(path)
        self.token_texts = TokenTexts(self.tokenizer)

    @property
    def vocab_size(self) -> int:
        """Token ids below this are valid input."""
        return len(self.tokenizer)

    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=add_special_tokens))

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens))

    @property
    def has_chat_template(self) -> bool:
        """False for a base model imported without one: it completes text, it does not chat."""
        return bool(self.tokenizer.chat_template)

    def render_chat(
        self, messages: Sequence[dict[str, str]], *, add_generation_prompt: bool = True
    ) -> str:
        return render_chat(
            self.tokenizer,
            messages,
            add_generation_prompt=add_generation_prompt,
            template_kwargs=self.template_kwargs,
        )

    def tokenizer_info(self) -> TokenizerInfo:
        tok = self.tokenizer
        template = tok.chat_template if isinstance(tok.chat_template, str) else None
        return TokenizerInfo(
            tokenizer_class=type(tok).__name__,
            bos_token=tok.bos_token,
            eos_token=tok.eos_token,
            pad_token=tok.pad_token,
            unk_token=tok.unk_token,
            model_max_length=self.context_length,
            chat_template=template,
        )

    def prompt_scores(self, ids: Sequence[int], logprobs: torch.Tensor, top_k: int) -> PromptScores:
        """Records for every prompt token from the log-softmax after each token
        (``logprobs[i]`` predicts ``ids[i + 1]``); the first token has no logprob."""
        ids = list(ids)
        offsets = prompt_text_offsets(ids, lambda p: self.decode(p, skip_special_tokens=False))
        first = TokenLogprob(ids[0], self.token_texts(ids[0]), None, (), 0)
        rest = (
            token_logprob(logprobs[i - 1], ids[i], top_k, self.token_texts, offsets[i])
            for i in range(1, len(ids))
        )
        return PromptScores((first, *rest))
