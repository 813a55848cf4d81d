"""LoRA SFT and merging on every open-weight family, from its checkpoint directory as
published: the loss falls on exactly what the model must write (the reply and the family's
own end-of-turn token, in its own chat template), training runs without a pad token, and
the merged model computes what base + adapter did and serves with the same template and
end tokens."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from peft import PeftModel
from safetensors import safe_open
from transformers import AutoModelForCausalLM, TrainerCallback
from typer.testing import CliRunner

from modelmint.catalog import Catalog
from modelmint.cli.main import app
from modelmint.data import CurateConfig, SplitConfig, curate
from modelmint.modeling import load_tokenizer
from modelmint.store import Store
from modelmint.training import parse_recipe, start_training
from modelmint.training.examples import IGNORE, chat_examples, sft_rows
from support.open_weights import FAMILIES, build_checkpoint

pytestmark = pytest.mark.slow

# What ends an assistant turn in each family's template: the token the model must learn
# to write, and that serving stops at.
END_OF_TURN = {
    "llama3": "<|eot_id|>",
    "llama3-tied": "<|eot_id|>",
    "qwen2": "<|im_end|>",
    "qwen3": "<|im_end|>",
    "mistral": "</s>",
    "gemma2": "<end_of_turn>",
    "gemma3": "<end_of_turn>",
    "smollm": "<|im_end|>",
}

CONVERSATIONS = [
    [
        {"role": "user", "content": "我的订单MM20250314-29741到哪了？"},
        {"role": "assistant", "content": "已经发货了，预计明天送达。"},
        {"role": "user", "content": "好的，谢谢。"},
        {"role": "assistant", "content": "不客气！"},
    ],
    [
        {"role": "user", "content": "退款什么时候到账？"},
        {"role": "assistant", "content": "退款将在三个工作日内原路退回。"},
    ],
    [
        {"role": "user", "content": "Where is my order?"},
        {"role": "assistant", "content": "It shipped this morning and arrives tomorrow."},
    ],
    [
        {"role": "user", "content": "Can I change the delivery address?"},
        {"role": "assistant", "content": "Yes. Send me the new address and I will update it."},
        {"role": "user", "content": "Thanks."},
        {"role": "assistant", "content": "You're welcome."},
    ],
]
STEPS = 20
runner = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose catalog holds dataset "chat": the four conversations, curated as they
    are (short replies pass no quality rule meant for documents)."""
    home = tmp_path_factory.mktemp("home")
    corpus = home / "chat.jsonl"
    with corpus.open("w", encoding="utf-8") as f:
        for n, messages in enumerate(CONVERSATIONS):
            f.write(json.dumps({"id": f"c{n}", "messages": messages}, ensure_ascii=False) + "\n")
    config = CurateConfig(
        quality=None,
        languages=None,
        identify_language=False,
        scrub_pii=False,
        near_dedup=None,
        decontaminate=False,
        splits=SplitConfig(validation=0.0, stratify_by=None),
    )
    curate(_catalog(home), [corpus], "chat", config)
    return home


def _catalog(home: Path) -> Catalog:
    return Catalog(Store.open(f"sqlite:///{home / 'mint.db'}"), home / "artifacts")


class _Watch(TrainerCallback):
    """The loss of every step, and the attention the trained model runs."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.attention: str | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.attention = kw["model"].config._attn_implementation

    def on_log(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if "loss" in (logs := kw.get("logs") or {}):
            self.losses.append(float(logs["loss"]))


def _labelled(example: dict[str, Any], tokenizer: Any) -> str:
    ids = [t for t, y in zip(example["input_ids"], example["labels"], strict=True) if y != IGNORE]
    return str(tokenizer.decode(ids, skip_special_tokens=False))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_lora_sft_and_merge(
    family: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fam = FAMILIES[family]
    base_dir = build_checkpoint(family, tmp_path / family)
    tokenizer = load_tokenizer(base_dir)
    records = _catalog(home).get_dataset("chat").read_split("train")
    assert len(records) == len(CONVERSATIONS)

    # The loss covers each reply and its end-of-turn token, nothing else, in one sequence
    # per conversation that starts with the template's BOS once.
    rows = sft_rows(records, tokenizer, 256, fam.template_kwargs).rows
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        replies = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
        assert _labelled(row, tokenizer) == "".join(r + END_OF_TURN[family] for r in replies)
        if "bos_token" in fam.chat_template:
            bos = tokenizer.convert_tokens_to_ids(fam.bos)
            assert row["input_ids"][0] == bos and row["input_ids"].count(bos) == 1

    # One batch of all four conversations, STEPS times: padded (with no pad token for
    # Llama 3 and Mistral) and learned. The base is a directory named as a user would,
    # relative to where they are.
    monkeypatch.chdir(tmp_path)
    watch = _Watch()
    recipe = {
        "recipe": "sft",
        "name": family,
        "dataset": "chat",
        "base": family,
        "method": "lora",
        "lora": {"r": 8, "alpha": 16},
        "max_length": 128,
        "chat_template_kwargs": fam.template_kwargs,
        "training": {
            "max_steps": STEPS,
            "batch_size": len(records),
            "learning_rate": 1e-2,
            "schedule": "constant",
            "warmup_steps": 0,
            "weight_decay": 0.0,
            "bf16": False,  # autocast costs more than it saves on a model this small
        },
    }
    outcome = start_training(_catalog(home), parse_recipe(recipe), callbacks=[watch])
    adapter = outcome.model
    assert adapter is not None and adapter.kind == "adapter"
    assert len(watch.losses) == STEPS and all(math.isfinite(x) for x in watch.losses)
    assert watch.losses[-1] < 0.8 * watch.losses[0], watch.losses
    if getattr(fam.config(8), "attn_logit_softcapping", None):  # Gemma 2
        assert watch.attention == "eager"  # the attention that applies the soft-cap
    assert load_tokenizer(adapter.path).pad_token == fam.pad  # no token was added

    monkeypatch.setenv("MINT_HOME", str(home))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.chdir(home)  # merging finds the base from anywhere
    r = runner.invoke(app, ["models", "merge", adapter.label, "--name", f"{family}-merged"])
    assert r.exit_code == 0, r.output
    merged_dir = _catalog(home).resolve_model(f"{family}-merged").path

    # Served from the merged directory: the family's template and end tokens.
    assert (merged_dir / "chat_template.jinja").read_text() == fam.chat_template
    assert load_tokenizer(merged_dir).chat_template == fam.chat_template
    generation = json.loads((merged_dir / "generation_config.json").read_text())
    assert generation["eos_token_id"] == tokenizer.convert_tokens_to_ids(fam.end_tokens)

    # The merged model computes what the base with its adapter did.
    ids = torch.tensor([rows[0]["input_ids"]])
    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32).eval()
    with torch.no_grad():
        before = base(ids).logits
        peft = PeftModel.from_pretrained(base, str(adapter.path)).eval()
        with_adapter = peft(ids).logits
        merged = AutoModelForCausalLM.from_pretrained(str(merged_dir), dtype=torch.float32)
        after = merged.eval()(ids).logits
    assert (after - with_adapter).abs().max().item() < 1e-5
    assert (after - before).abs().max().item() > 1e-3  # and that is what training changed

    tied = bool(base.config.tie_word_embeddings)
    assert merged.config.tie_word_embeddings == tied
    head, embedding = merged.get_output_embeddings().weight, merged.get_input_embeddings().weight
    assert (head.data_ptr() == embedding.data_ptr()) == tied
    with safe_open(str(merged_dir / "model.safetensors"), "pt") as f:
        assert ("lm_head.weight" in set(f.keys())) != tied  # one matrix on disk when tied


# A template that rewrites past turns once a later one comes, as Qwen3's published one
# does: only the latest reply after the last user message shows its (empty) reasoning.
REWRITING_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' and loop.last %}{{ '<think>\n\n</think>\n\n' }}"
    "{% endif %}{{ message['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n<think>\n\n</think>\n\n' }}"
    "{% endif %}"
)


def test_a_template_that_rewrites_past_turns_trains_each_reply_in_its_own_example(
    tmp_path: Path,
) -> None:
    tokenizer = load_tokenizer(build_checkpoint("qwen3", tmp_path / "qwen3"))
    tokenizer.chat_template = REWRITING_TEMPLATE
    examples = chat_examples(CONVERSATIONS[0], tokenizer, 256)
    assert [_labelled(e, tokenizer) for e in examples] == [
        "已经发货了，预计明天送达。<|im_end|>",
        "不客气！<|im_end|>",
    ]
    # each as served: the conversation so far, then the generation prompt
    prompt = tokenizer.apply_chat_template(
        CONVERSATIONS[0][:3], tokenize=False, add_generation_prompt=True
    )
    assert tokenizer.decode(examples[1]["input_ids"]) == f"{prompt}不客气！<|im_end|>\n"
