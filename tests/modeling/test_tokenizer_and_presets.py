from pathlib import Path

import pytest

from modelmint.modeling import PRESETS, count_parameters, llama_config, load_tokenizer
from modelmint.modeling.loading import build_causal_lm, load_causal_lm
from modelmint.training import train_tokenizer
from support.helpers import TEXTS, build_micro_model

ROUND_TRIP = [
    "您好，我的订单 MM20261122-48213 什么时候发货？",
    "生僻字：饕餮、耄耋、龘，全角标点！？；emoji 😀🎉 and mixed English.",
    "  leading spaces, tabs\tand\nnewlines  ",
    "Ünïcödé and ｆｕｌｌｗｉｄｔｈ",
]


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok")
    train_tokenizer(TEXTS, out, vocab_size=500)
    return out


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_byte_level_bpe_round_trips_exactly(tok_dir: Path, text: str) -> None:
    tok = load_tokenizer(tok_dir)
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text
    assert tok.unk_token_id is None or tok.unk_token_id not in ids


def test_bpe_learns_chinese_merges(tok_dir: Path) -> None:
    tok = load_tokenizer(tok_dir)
    text = "我的订单什么时候发货"
    # Raw bytes would be 3 tokens per character; trained merges must do better.
    assert len(tok.encode(text, add_special_tokens=False)) < len(text.encode()) / 2


def test_chat_template_is_saved_with_the_tokenizer(tok_dir: Path) -> None:
    tok = load_tokenizer(tok_dir)
    rendered = tok.apply_chat_template(
        [{"role": "user", "content": "你好"}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n"
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.encode("<|im_end|>", add_special_tokens=False) == [im_end]


@pytest.mark.parametrize(("size", "low", "high"), [("tiny", 4e6, 6.5e6), ("small", 25e6, 36e6)])
def test_presets_have_the_promised_size(size: str, low: float, high: float) -> None:
    config = llama_config(size, vocab_size=8192, bos_token_id=0, eos_token_id=0, pad_token_id=3)
    n = count_parameters(build_causal_lm(config))
    assert low <= n <= high
    assert size in PRESETS


def test_saved_model_loads_with_auto_class(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    build_micro_model(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path))
    assert count_parameters(model) == count_parameters(load_causal_lm(tmp_path))


def test_unknown_size_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown model size 'huge'"):
        llama_config("huge", vocab_size=10, bos_token_id=0, eos_token_id=0, pad_token_id=0)
