"""Every recipe trains for real (micro models, a few steps) and registers what it made."""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from modelmint.catalog import Catalog
from modelmint.data import curate
from modelmint.modeling import load_tokenizer, record_text
from modelmint.training import RecipeError, parse_recipe, start_training
from modelmint.training.adapters import merge_adapter
from modelmint.training.examples import IGNORE, chat_examples
from modelmint.training.recipes.masked_lm import ContentSeededMasking
from support.training import MICRO_ARCH, micro_clm

pytestmark = pytest.mark.slow


def test_pretrain_clm_registers_a_model_with_metrics_and_lineage(catalog: Catalog) -> None:
    outcome = start_training(catalog, parse_recipe(micro_clm("clm", steps=8, eval_every=4)))
    model = outcome.model
    assert model is not None and model.kind == "causal-lm"
    assert (model.path / "model.safetensors").exists() and (model.path / "tokenizer.json").exists()
    assert model.metrics["perplexity"] > 1 and "eval_loss" in model.metrics
    series = catalog.run_metrics(outcome.run_id)
    assert [s for s, _ in series["loss"]] == list(range(1, 9))  # every step, in order
    assert [s for s, _ in series["eval_loss"]][:2] == [4, 8]
    assert series["loss"][-1][1] < series["loss"][0][1]
    lineage = catalog.lineage(model)
    assert (
        lineage["dataset"]["name"] == "support" and lineage["run"]["kind"] == "train:pretrain-clm"
    )
    assert not (catalog.run_dir(outcome.run_id) / "checkpoints").exists()  # finished: freed
    facts = json.loads((model.path / "modelmint.json").read_text())
    assert facts["recipe"] == "pretrain-clm" and facts["run"] == outcome.run_id


def test_pretrain_clm_with_muon_trains_and_logs_the_adamw_rate(catalog: Catalog) -> None:
    recipe = micro_clm(
        "clm-muon", steps=8, optimizer="muon", learning_rate=3e-3, schedule="constant"
    )
    outcome = start_training(catalog, parse_recipe(recipe))
    assert outcome.model is not None
    series = catalog.run_metrics(outcome.run_id)
    assert series["loss"][-1][1] < series["loss"][0][1] - 0.3
    # the logged rate is AdamW's (embeddings, norms), Muon's runs beside it at its own
    assert {round(v, 9) for _, v in series["learning_rate"]} == {3e-3}


def test_chat_example_trains_on_assistant_tokens_only(catalog: Catalog, micro_base: str) -> None:
    tok = load_tokenizer(catalog.resolve_model(micro_base).path)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where is my order?"},
        {"role": "assistant", "content": "It ships today."},
        {"role": "user", "content": "谢谢"},
        {"role": "assistant", "content": "不客气！"},
    ]
    (ex,) = chat_examples(messages, tok, max_length=512)
    trained = tok.decode(
        [t for t, y in zip(ex["input_ids"], ex["labels"], strict=True) if y != IGNORE]
    )
    assert trained == "It ships today.<|im_end|>不客气！<|im_end|>"
    assert len(ex["input_ids"]) == len(ex["labels"])


def test_first_exchange_reads_a_conversation_up_to_its_first_reply(
    catalog: Catalog, micro_base: str
) -> None:
    tok = load_tokenizer(catalog.resolve_model(micro_base).path)
    record = {
        "text": "whole",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Where is my order?"},
            {"role": "assistant", "content": "It ships today."},
            {"role": "user", "content": "谢谢"},
            {"role": "assistant", "content": "不客气！"},
        ],
    }
    first = record_text(record, tok, "first_exchange")
    assert first == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhere is my order?"
        "<|im_end|>\n<|im_start|>assistant\nIt ships today.<|im_end|>\n"
    )
    assert record_text(record, tok).startswith(first) and "不客气" in record_text(record, tok)
    assert record_text({"text": "plain"}, tok, "first_exchange") == "plain"

    outcome = start_training(
        catalog, parse_recipe(micro_clm("openings", steps=4) | {"input": "first_exchange"})
    )
    assert outcome.model is not None and outcome.model.metrics["perplexity"] > 1


@pytest.mark.parametrize("packing", [False, True])
def test_sft_full_fine_tunes_from_a_base(catalog: Catalog, micro_base: str, packing: bool) -> None:
    recipe = {
        "recipe": "sft",
        "name": f"sft-{packing}",
        "dataset": "support",
        "base": micro_base,
        "max_length": 128,
        "packing": packing,
        "training": {"max_steps": 4, "batch_size": 4, "warmup_steps": 0},
    }
    out = start_training(catalog, parse_recipe(recipe))
    assert out.model is not None and out.model.kind == "causal-lm"
    assert catalog.lineage(out.model)["parents"] == [{"model": micro_base, "kind": "causal-lm"}]
    tok = load_tokenizer(out.model.path)
    assert tok.chat_template == load_tokenizer(catalog.resolve_model(micro_base).path).chat_template


def test_sft_lora_saves_only_the_adapter_and_merges_back(catalog: Catalog, micro_base: str) -> None:
    recipe = {
        "recipe": "sft",
        "name": "sft-lora",
        "dataset": "support",
        "base": micro_base,
        "method": "lora",
        "max_length": 128,
        "lora": {"r": 4},
        "training": {"max_steps": 4, "batch_size": 4, "learning_rate": 1e-2, "warmup_steps": 0},
    }
    out = start_training(catalog, parse_recipe(recipe))
    adapter = out.model
    assert adapter is not None and adapter.kind == "adapter"
    files = {p.name for p in adapter.path.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json"} <= files
    assert "model.safetensors" not in files
    assert out.trainable_parameters < adapter.num_parameters / 5
    base = catalog.resolve_model(micro_base)
    assert adapter.parent_id == base.id
    merged_dir = merge_adapter(adapter.path, base.path, adapter.path.parent / "merged", "causal-lm")
    from peft import PeftModel

    with_adapter = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(base.path)), str(adapter.path)
    ).eval()
    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir)).eval()
    ids = torch.tensor([[5, 17, 42, 99, 7]])
    with torch.no_grad():
        diff = (with_adapter(ids).logits - merged(ids).logits).abs().max().item()
        base_diff = (
            (AutoModelForCausalLM.from_pretrained(str(base.path))(ids).logits - merged(ids).logits)
            .abs()
            .max()
            .item()
        )
    assert diff < 1e-4 < base_diff  # the merge carries the adapter's change, exactly


def test_masking_is_80_10_10_and_a_function_of_the_batch(catalog: Catalog, micro_base: str) -> None:
    tok = load_tokenizer(catalog.resolve_model(micro_base).path)
    collator = ContentSeededMasking(tok, 0.15, seed=0)
    ids = torch.randint(10, len(tok), (64, 128))
    batch = collator([{"input_ids": row} for row in ids])
    chosen = batch["labels"] != -100
    share = chosen.float().mean().item()
    outcome = Counter()
    for got, orig in zip(batch["input_ids"][chosen].tolist(), ids[chosen].tolist(), strict=True):
        outcome["mask" if got == tok.mask_token_id else "same" if got == orig else "random"] += 1
    n = sum(outcome.values())
    assert 0.13 < share < 0.17
    assert 0.76 < outcome["mask"] / n < 0.84 and 0.07 < outcome["same"] / n < 0.13
    again = collator([{"input_ids": row} for row in ids])
    assert torch.equal(again["input_ids"], batch["input_ids"])  # same batch, same masks
    torch.manual_seed(12345)  # the global generator plays no part
    fresh = ContentSeededMasking(tok, 0.15, seed=0)([{"input_ids": row} for row in ids])
    assert torch.equal(fresh["input_ids"], batch["input_ids"])
    # another process (as a resumed run, or a data-loader worker) draws the very same masks
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        elsewhere = pool.submit(collator, [{"input_ids": row} for row in ids]).result()
    assert torch.equal(elsewhere["input_ids"], batch["input_ids"])
    other_seed = ContentSeededMasking(tok, 0.15, seed=1)([{"input_ids": row} for row in ids])
    assert not torch.equal(other_seed["input_ids"], batch["input_ids"])


def test_pretrain_mlm_then_classify_from_it_and_continue(catalog: Catalog, micro_base: str) -> None:
    mlm = start_training(
        catalog,
        parse_recipe(
            {
                "recipe": "pretrain-mlm",
                "name": "enc",
                "dataset": "support",
                "architecture": MICRO_ARCH,
                "tokenizer": {"vocab_size": 1000},
                "block_size": 64,
                "training": {"max_steps": 4, "batch_size": 4, "warmup_steps": 0},
            }
        ),
    )
    assert mlm.model is not None and mlm.model.kind == "masked-lm"
    cls = start_training(
        catalog,
        parse_recipe(
            {
                "recipe": "classify",
                "name": "intent",
                "dataset": "support",
                "base": mlm.model.label,
                "training": {"max_steps": 4, "batch_size": 8, "eval_every": 2},
            }
        ),
    )
    assert cls.model is not None and cls.model.kind == "classifier"
    assert 0 <= cls.model.metrics["eval_accuracy"] <= 1
    labels = json.loads((cls.model.path / "labels.json").read_text())
    assert labels["label"] == "intent" and len(labels["classes"]) >= 5
    loaded = AutoModelForSequenceClassification.from_pretrained(str(cls.model.path))
    assert loaded.config.id2label[0] == labels["classes"][0]
    cont = start_training(
        catalog,
        parse_recipe(
            {
                "recipe": "continue",
                "name": "more",
                "dataset": "support",
                "base": micro_base,
                "block_size": 64,
                "training": {"max_steps": 3, "batch_size": 4},
            }
        ),
    )
    assert cont.model is not None and cont.model.parent_id == catalog.resolve_model(micro_base).id


def test_classify_from_the_bundled_minilm_encoder_learns_intents(catalog: Catalog) -> None:
    out = start_training(
        catalog,
        parse_recipe(
            {
                "recipe": "classify",
                "name": "intent-minilm",
                "dataset": "support",
                "base": "minilm",
                "input": "first_user_turn",
                "max_length": 64,
                "training": {
                    "max_steps": 60,
                    "batch_size": 16,
                    "learning_rate": 3e-4,
                    "eval_every": 30,
                },
            }
        ),
    )
    assert out.model is not None and out.model.metrics["eval_accuracy"] > 0.5
    assert catalog.lineage(out.model)["parents"] == []  # a base outside the catalog


def test_bad_inputs_are_refused_before_training(
    catalog: Catalog, micro_base: str, tmp_path: Path
) -> None:
    with pytest.raises(RecipeError, match="no label 'topic'"):
        start_training(
            catalog,
            parse_recipe(
                {
                    "recipe": "classify",
                    "name": "x",
                    "dataset": "support",
                    "base": "minilm",
                    "label": "topic",
                }
            ),
        )
    with pytest.raises(RecipeError, match="dataset 'nope'"):
        start_training(catalog, parse_recipe(micro_clm() | {"dataset": "nope"}))
    with pytest.raises(RecipeError, match="base 'ghost@production'"):
        start_training(
            catalog,
            parse_recipe(
                {
                    "recipe": "sft",
                    "name": "x",
                    "dataset": "support",
                    "base": "ghost@production",
                }
            ),
        )
    texts = tmp_path / "notes.jsonl"
    texts.write_text(
        "".join(
            json.dumps(
                {
                    "text": f"Note {n}: the parcel that was sent to the customer {n * 7} has "
                    "left the depot, and it is on the way to them with the courier."
                }
            )
            + "\n"
            for n in range(60)
        )
    )
    curate(catalog, [texts], "notes")
    with pytest.raises(RecipeError, match="input: first_exchange reads conversations"):
        recipe = micro_clm() | {"dataset": "notes", "input": "first_exchange"}
        start_training(catalog, parse_recipe(recipe))
    with pytest.raises(RecipeError, match="block_size 256 exceeds the model's context of 128"):
        start_training(catalog, parse_recipe(micro_clm("long") | {"block_size": 256}))
    with pytest.raises(RecipeError, match=r"training.batch_size=\d+ and training.grad_accum="):
        start_training(catalog, parse_recipe(micro_clm("huge", batch_size=2_000_000)))
    failed = [r for r in catalog.list_runs() if r.status == "failed"]
    assert failed and "would need about" in (failed[0].error or "")


def test_compiled_training_registers_a_loadable_model(catalog: Catalog) -> None:
    from modelmint.training.trainer import use_compile

    recipe = parse_recipe(micro_clm("compiled", steps=4, compile=True))
    out = start_training(catalog, recipe)
    assert out.model is not None
    loaded = AutoModelForCausalLM.from_pretrained(str(out.model.path))
    assert not any(k.startswith("_orig_mod") for k in loaded.state_dict())
    auto = parse_recipe(micro_clm("auto")).training
    assert not use_compile(auto, rows=1000, fixed_shapes=True)  # 6 steps: not worth it
    long = auto.model_copy(update={"max_steps": 500})
    assert use_compile(long, rows=1000, fixed_shapes=True)
    assert not use_compile(long, rows=1000, fixed_shapes=False)  # padded batches vary


def test_the_compiled_forward_returns_only_the_loss_while_training(tmp_path: Path) -> None:
    """The Trainer reads only the loss; logits would be kept and copied to float32 by
    accelerate. Evaluation still gets them, and the Trainer still sees the real signature
    (it drops dataset columns the forward does not name)."""
    import inspect

    from modelmint.training.trainer import _compiled_training_forward
    from support.helpers import build_micro_model

    model = AutoModelForCausalLM.from_pretrained(str(build_micro_model(tmp_path / "m")))
    forward = _compiled_training_forward(model)
    assert "input_ids" in inspect.signature(forward).parameters
    x = torch.tensor([[5, 9, 12, 40, 7]])
    model.train()
    out = forward(input_ids=x, labels=x)
    full = model.forward(input_ids=x, labels=x)
    assert list(out.keys()) == ["loss"] and torch.allclose(out.loss, full.loss)
    out.loss.backward()  # gradients flow through the loss alone
    assert model.model.embed_tokens.weight.grad is not None
    model.eval()
    assert forward(input_ids=x, labels=x).logits is not None
    assert forward(input_ids=x).logits is not None
