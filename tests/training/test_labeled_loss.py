"""A packed batch's loss from the labeled positions' logits equals the Hugging Face loss of
the same conversations as padded rows, for every open-weight family (their own heads:
tied, untied, Gemma's soft-capped), in float32, with the gradients it gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import DataCollatorWithFlattening

from modelmint.modeling import load_causal_lm, load_tokenizer
from modelmint.training.examples import PadCollator, pad_id, sft_examples
from modelmint.training.labeled_loss import labeled_positions_loss, packed
from support.open_weights import FAMILIES, build_checkpoint

CONVERSATIONS = [
    [
        {"role": "user", "content": "我的订单到哪了？"},
        {"role": "assistant", "content": "已经发货了，预计明天送达。"},
        {"role": "user", "content": "Can I change the address?"},
        {"role": "assistant", "content": "Yes, tell me the new one."},
    ],
    [
        {"role": "user", "content": "Where is my refund?"},
        {"role": "assistant", "content": "It was sent back to your card yesterday."},
    ],
    [
        {"role": "user", "content": "发票怎么开？"},
        {"role": "assistant", "content": "在订单页面点击“申请发票”。"},
    ],
]


def _gradients(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    return grads


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_packed_labeled_loss_is_the_padded_loss(family: str, tmp_path: Path) -> None:
    path = build_checkpoint(family, tmp_path / family)
    tokenizer = load_tokenizer(path)
    records = [{"id": str(n), "messages": m} for n, m in enumerate(CONVERSATIONS)]
    kwargs = FAMILIES[family].template_kwargs
    examples = list(sft_examples(records, tokenizer, 256, kwargs))
    assert len(examples) >= 3
    model = load_causal_lm(path).train()

    padded = PadCollator(pad_id(tokenizer))(examples)
    expected = model(**padded).loss
    expected.backward()
    expected_grads = _gradients(model)

    batch = DataCollatorWithFlattening(return_position_ids=True)(examples)
    assert packed(batch) and batch["input_ids"].shape[1] < padded["input_ids"].numel()
    got = labeled_positions_loss(model, batch)
    got.backward()
    got_grads = _gradients(model)

    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert got_grads.keys() == expected_grads.keys()
    for name, grad in expected_grads.items():
        torch.testing.assert_close(got_grads[name], grad, atol=1e-5, rtol=1e-4, msg=name)
