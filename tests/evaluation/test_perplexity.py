import math
from pathlib import Path

import torch

from modelmint.evaluation import perplexity
from modelmint.modeling import load_causal_lm, load_tokenizer
from support.helpers import build_micro_model


def test_perplexity_matches_the_models_own_loss(tmp_path: Path) -> None:
    build_micro_model(tmp_path)
    model, tok = load_causal_lm(tmp_path), load_tokenizer(tmp_path)
    text = "您好，我的订单什么时候发货？"
    ids = [*tok.encode(text, add_special_tokens=False), tok.eos_token_id]
    with torch.no_grad():
        loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids])).loss
    assert math.isclose(perplexity(model, tok, [text]), math.exp(float(loss)), rel_tol=1e-4)


def test_perplexity_scores_every_token_across_blocks(tmp_path: Path) -> None:
    build_micro_model(tmp_path)
    model, tok = load_causal_lm(tmp_path), load_tokenizer(tmp_path)
    texts = ["Where is my order?"] * 7
    # Different block sizes and batch sizes see the same tokens; only context differs.
    a = perplexity(model, tok, texts, block_size=16, batch_size=2)
    b = perplexity(model, tok, texts, block_size=16, batch_size=16)
    assert math.isclose(a, b, rel_tol=1e-4)
