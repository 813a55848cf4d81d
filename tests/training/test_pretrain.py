from pathlib import Path

import torch

from helpers import TEXTS
from modelmint.evaluation import perplexity
from modelmint.modeling import load_causal_lm, load_tokenizer
from modelmint.modeling.presets import PRESETS, Preset
from modelmint.training import PretrainConfig, pack_blocks, pretrain_causal_lm, train_tokenizer


def test_pack_blocks_keeps_every_token_in_order(tmp_path: Path) -> None:
    train_tokenizer(TEXTS, tmp_path, vocab_size=400)
    tok = load_tokenizer(tmp_path)
    texts = TEXTS[:6]
    blocks = pack_blocks(texts, tok, block_size=16)
    stream = []
    for t in texts:
        stream += [*tok.encode(t, add_special_tokens=False), tok.eos_token_id]
    assert blocks.shape[1] == 16
    assert blocks.flatten().tolist() == stream[: blocks.numel()]
    assert len(stream) - blocks.numel() < 16


def test_pretraining_learns_and_saves_hf_format(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(PRESETS, "micro", Preset(64, 2, 4, 128, context_length=128))
    train_tokenizer(TEXTS, tmp_path / "tok", vocab_size=400)
    cfg = PretrainConfig(
        size="micro", max_steps=30, batch_size=8, block_size=64, learning_rate=3e-3, warmup_steps=3
    )
    events = []
    result = pretrain_causal_lm(TEXTS, tmp_path / "tok", tmp_path / "model", cfg, events.append)
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert (tmp_path / "model" / "tokenizer.json").exists()
    assert events[-1].completed == 30 and events[-1].total == 30
    assert result.tokens_trained == 30 * 8 * 64

    model = load_causal_lm(tmp_path / "model")
    tok = load_tokenizer(tmp_path / "model")
    torch.manual_seed(0)
    untrained = type(model)(model.config)
    assert (
        perplexity(model, tok, TEXTS[:12], block_size=64)
        < perplexity(untrained, tok, TEXTS[:12], block_size=64) / 5
    )
