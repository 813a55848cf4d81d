"""Open-weight figures at a realistic size: LoRA fine-tuning and serving of a model shaped as
Qwen2.5-0.5B, modelmint against what a user of the open-source stack would run, side by side
in one invocation, each side in its own process, one after another (never two at once).

The model is built here, nothing downloaded: ``Qwen2Config`` at Qwen2.5-0.5B's shapes (24
layers, hidden 896, 14 heads, 2 KV heads, MLP 4,864, vocabulary 151,936, tied embeddings,
494M parameters), random weights (seed 0), saved in bfloat16 as Qwen ships it, with a
byte-level BPE tokenizer (8,192 tokens learned from the sample corpus, as modelmint's own
tokenizer trainer learns them) and Qwen2's ChatML template. It keeps all 151,936 rows rather
than the tokenizer's 8,192: the embedding and LM head are 136M of the 494M parameters, and
the head's matmul and softmax over the vocabulary are a large share of both a training and a
decoding step, so a smaller vocabulary would flatter every side. The tokenizer is padded to
the same size with filler words (" aaab", ...) that no merge produces, so whatever id the
random model picks decodes to text. The rows of the special tokens and of tokens that decode
to a partial UTF-8 character are shrunk to a tenth: with tied embeddings their logits are a
tenth of the others' (about 0.06 against a largest of about 2.6), never the largest of
151,936, so no request stops early and every streamed token is text, on either server,
with no server-specific "ignore end of text" hook. (Zeroed rows would do the same for
serving but break training: a conversation's first token, ``<|im_start|>``, would keep a
hidden state of exactly 0 through every layer, where each RMSNorm (1/sqrt(eps) = 1,000 at
0) multiplied its gradient by 300 or more, until it overflowed to NaN by the 17th layer
down.)

The steps, all through public entry points (the ``mint`` CLI and the recipe API):
``mint data sample`` + ``mint data ingest`` (the customer-service corpus, no validation
split), ``mint models import`` into a fresh MINT_HOME, ``mint tenants create`` and ``mint
keys create``; then

Training (tokens/s over steps after the warm-up, real tokens only, padding excluded,
counted at the model's forward in both sides alike; same dataset, max length, batch and
number of optimizer steps; each side builds its rows its own way, so tokens per step differ):
  modelmint   ``recipes/sft-lora.yaml`` through ``load_recipe`` + ``start_training`` (what
              ``mint train --recipe recipes/sft-lora.yaml --set ...`` runs), its defaults:
              LoRA r 16, alpha 32, dropout 0 on every projection (q, k, v, o, gate, up, down);
  peft        the path LLaMA-Factory's users take: ``get_peft_model`` with the same LoRA
              (same rank and the same seven targets, so the comparison is of the training
              machinery, not of the amount of LoRA), a ``Trainer`` with default
              ``TrainingArguments`` except batch size, steps and bf16 (on where modelmint
              turns it on: CPUs with AMX), each conversation in the chat template one row,
              truncated to the max length, padded per batch by ``DataCollatorForSeq2Seq``.
              Loss on every token (LLaMA-Factory masks the prompt; the logits are computed
              for every position either way, so the cost is the same).
  Share of the matmul peak of the dtype the matrix products ran in (bfloat16: both sides
  keep the frozen base in the checkpoint's bfloat16, and autocast where the CPU has AMX):
  LoRA FLOPs = 4 x P x tokens (forward 2 x P, backward
  through the activations 2 x P, no weight gradients for the frozen base; the adapters'
  own FLOPs and attention scores left out), P = the parameters, the tied embedding counted
  once, as the LM head.
Serving (``benchmarks/serving.py``'s servers, workload and client): ``mint serve --model
NAME --dtype bfloat16`` against ``transformers serve --continuous-batching DIR`` (bfloat16:
the checkpoint's dtype), prompts of 64-250 tokens from the corpus's dialogues in the chat
template, 64-256 output tokens each (all generated: see the shrunk rows), greedy, streaming,
concurrency 1 and 16 with max(8, 2 x concurrency) requests after 4 warm-up requests. Model
FLOP/s = 2 x P x (prompt + output tokens) / wall time, as serving.py reports it.
The peak: a timed 2048^3 ``torch.matmul`` in bfloat16 on all threads, at the start and the
end of the run (the higher counts).

Full size: batch 8, max length 512, 16 steps timed after 4 (each step about 1,200 real
tokens, so 12 timed steps are about 14k tokens a side). ``--quick``: 2 layers, batch 2, max
length 256, 4 steps timed after 1, outputs cut to 16 tokens, max(8, concurrency) requests.

Run: ``.venv/bin/python benchmarks/open_weights.py`` (an estimate of 45-60 minutes on 2 quiet
cores, from ``--quick``'s figures scaled to 3x the parameters: 10-20 training, 20-30 serving,
most of that at concurrency 1, the rest building, ingesting and importing; the checkpoint is
cached in /tmp between runs); ``--quick`` took 4.5 minutes on a busy 2-core machine. The
last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import serving  # benchmarks/serving.py: servers, client, workload, matmul peak, figures
import training  # benchmarks/training.py: step clock, sides in subprocesses, peak RSS

ROOT = Path(tempfile.gettempdir()) / "mint-bench-open-weights"
HOME = ROOT / "home"  # a fresh MINT_HOME every run
NAME, DATASET, TENANT = "qwen-shaped", "support", "bench"
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "sft-lora.yaml"
LEVELS = [1, 16]
QWEN25_05B: dict[str, Any] = dict(
    vocab_size=151936,
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
    rms_norm_eps=1e-6,
    tie_word_embeddings=True,
)
LEARNED_VOCAB = 8192
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN2_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
FULL = {"layers": 24, "steps": 16, "warm": 4, "batch": 8, "max_length": 512, "dialogues": 6000}
QUICK = {"layers": 2, "steps": 4, "warm": 1, "batch": 2, "max_length": 256, "dialogues": 600}
QUICK_OUTPUT_TOKENS = 16


def plan() -> dict[str, Any]:
    return dict(json.loads((ROOT / "plan.json").read_text()))


# -- the model (a subprocess) -------------------------------------------------------------------
def chatml_tokenizer(dialogues: int) -> Any:
    """Byte-level BPE learned from the sample corpus, padded with filler words to the
    vocabulary's 151,936 ids, with Qwen2's special tokens and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from modelmint.samples import generate_sample_corpus

    records, _ = generate_sample_corpus(dialogues, seed=0)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=LEARNED_VOCAB,
        min_frequency=2,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((m["content"] for r in records for m in r["messages"]), trainer)
    spec = json.loads(tok.to_str())
    vocab: dict[str, int] = spec["model"]["vocab"]
    assert sorted(vocab.values()) == list(range(len(vocab)))
    letters = "abcdefghijklmnopqrstuvwxyz"
    for word in ("Ġ" + "".join(t) for t in itertools.product(letters, repeat=4)):
        if len(vocab) == QWEN25_05B["vocab_size"]:
            break
        vocab.setdefault(word, len(vocab))  # "Ġ" is byte-level BPE's space
    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(spec)),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
        model_max_length=QWEN25_05B["max_position_embeddings"],
    )
    fast.chat_template = QWEN2_TEMPLATE
    return fast


def side_build(_: Path) -> dict[str, Any]:
    """The checkpoint (built once per layer count, then cached) and the serving workload."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, Qwen2Config

    p = plan()
    out = ROOT / f"checkpoint-{p['layers']}-layers"
    start, built_s = time.perf_counter(), None
    if not (out / "ready").exists():
        shutil.rmtree(out, ignore_errors=True)
        tok = chatml_tokenizer(p["dialogues"])
        ids = tok.convert_tokens_to_ids
        config = Qwen2Config(
            **{**QWEN25_05B, "num_hidden_layers": p["layers"]},
            bos_token_id=ids("<|endoftext|>"),
            eos_token_id=ids("<|im_end|>"),
            pad_token_id=ids("<|endoftext|>"),
        )
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).eval()
        never = [i for i in range(LEARNED_VOCAB) if "\ufffd" in tok.decode([i])]
        never += [ids(t) for t in SPECIALS]
        with torch.no_grad():
            model.get_input_embeddings().weight[never] *= 0.1
        model.save_pretrained(str(out))
        tok.save_pretrained(str(out))
        ends = [ids("<|im_end|>"), ids("<|endoftext|>")]  # Qwen2.5-Instruct's
        GenerationConfig(eos_token_id=ends, pad_token_id=ids("<|endoftext|>")).save_pretrained(
            str(out)
        )
        (out / "shrunk_rows.json").write_text(json.dumps(sorted(set(never))))
        (out / "ready").touch()
        built_s = time.perf_counter() - start
    tok = AutoTokenizer.from_pretrained(str(out))
    model = AutoModelForCausalLM.from_pretrained(str(out), dtype="auto")
    parameters = sum(t.numel() for t in model.parameters())  # the tied matrix counted once
    factor = 1 if p["quick"] else 2
    total = serving.WARMUP + sum(serving.per_level(c, factor) for c in LEVELS)
    requests = serving.build_workload(tok, total, seed=0)
    if p["quick"]:
        for r in requests:
            r["max_tokens"] = min(r["max_tokens"], QUICK_OUTPUT_TOKENS)
    return {
        "dir": str(out),
        "parameters": parameters,
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "vocab": len(tok),
        "shrunk_rows": len(json.loads((out / "shrunk_rows.json").read_text())),
        "build_s": built_s,
        "stop_ids": [tok.convert_tokens_to_ids(t) for t in SPECIALS],
        "requests": requests,
    }


# -- training (subprocesses) --------------------------------------------------------------------
def step_meter(warm: int) -> Any:
    """A Trainer callback that times each step and counts the real tokens (attention mask
    ones; every id of a packed row) the model's training forwards read."""
    from transformers import TrainerCallback

    class StepMeter(TrainerCallback):
        def __init__(self) -> None:
            self.clock = training.StepClock(warm)
            self.tokens: dict[int, int] = {}
            self.seen = self.counted = 0

        def count(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
            if module.training:
                mask = kwargs.get("attention_mask")
                ids = kwargs["input_ids"] if "input_ids" in kwargs else args[0]
                self.seen += int(mask.sum()) if mask is not None else ids.numel()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            kw["model"].register_forward_pre_hook(self.count, with_kwargs=True)
            self.clock.tick(0)

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.clock.tick(state.global_step)
            self.tokens[state.global_step] = self.seen - self.counted
            self.counted = self.seen

        def figures(self) -> dict[str, Any]:
            timed = [self.tokens[s] for s in range(warm + 1, max(self.tokens) + 1)]
            return {
                "tokens_per_s": self.clock.rate(self.tokens),
                "steps": max(self.tokens),
                "timed_tokens": sum(timed),
                "mean_tokens_per_step": sum(timed) / len(timed),
                "first_step_s": self.clock.times[1] - self.clock.times[0],
                "peak_rss_mb": training.peak_rss_mb(),
            }

    return StepMeter()


def _runtime() -> Any:
    from modelmint.cli.runtime import Runtime
    from modelmint.config import Settings

    return Runtime.open(Settings(home=HOME))


def _recipe(p: dict[str, Any]) -> Any:
    from modelmint.training import load_recipe

    sets = [f"name={NAME}-lora", f"base={NAME}", f"dataset={DATASET}"]
    sets += [f"max_length={p['max_length']}", f"training.max_steps={p['steps']}"]
    return load_recipe(RECIPE, [*sets, f"training.batch_size={p['batch']}"])


def side_modelmint(_: Path) -> dict[str, Any]:
    from modelmint.training import start_training

    p = plan()
    recipe, meter = _recipe(p), step_meter(p["warm"])
    out = start_training(_runtime().catalog, recipe, callbacks=[meter])
    lora = recipe.lora
    return {
        **meter.figures(),
        "trainable_parameters": out.trainable_parameters,
        "final_loss": out.metrics.get("loss"),
        "lora": f"r {lora.r}, alpha {lora.alpha}, dropout {lora.dropout}, {lora.target_modules}",
    }


def side_peft(_: Path) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
    )

    from modelmint.modeling import cpu_trains_faster_in_bf16

    p = plan()
    lora = _recipe(p).lora  # the same LoRA as modelmint's side
    rt = _runtime()
    base = rt.catalog.resolve_model(NAME).path
    tok = AutoTokenizer.from_pretrained(str(base))
    records = rt.catalog.get_dataset(DATASET).read_split("train")
    texts = [tok.apply_chat_template(r["messages"], tokenize=False) for r in records]
    enc = tok(texts, truncation=True, max_length=p["max_length"], add_special_tokens=False)
    rows = [{"input_ids": i, "labels": list(i)} for i in enc["input_ids"]]
    model = AutoModelForCausalLM.from_pretrained(str(base))
    config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=PROJECTIONS,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, config)
    meter = step_meter(p["warm"])
    torch.manual_seed(0)
    bf16 = cpu_trains_faster_in_bf16()
    args = TrainingArguments(
        output_dir=str(ROOT / "peft-trainer"),
        max_steps=p["steps"],
        per_device_train_batch_size=p["batch"],
        bf16=bf16,
        use_cpu=True,  # as the Trainer would pick on a machine without a GPU anyway
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
    )
    collator = DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100)
    trainer = Trainer(
        model=model, args=args, train_dataset=rows, data_collator=collator, callbacks=[meter]
    )
    result = trainer.train()
    return {
        **meter.figures(),
        "trainable_parameters": sum(t.numel() for t in model.parameters() if t.requires_grad),
        "final_loss": result.training_loss,
        "bf16": bf16,
        "base_dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
    }


SIDES = {
    "build": side_build,
    "peak": lambda _: serving.side_peak(argparse.Namespace()),
    "train-modelmint": side_modelmint,
    "train-peft": side_peft,
}


def run_side(name: str) -> dict[str, Any]:
    return training.run_side(name, HOME, script=__file__, root=ROOT)


# -- the catalog, through the CLI ---------------------------------------------------------------
def mint(*argv: str) -> str:
    env = os.environ | {"MINT_HOME": str(HOME), "COLUMNS": "200", "NO_COLOR": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("MINT_") or k == "MINT_HOME"}
    p = subprocess.run([str(serving.MINT), *argv], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"mint {' '.join(argv)} failed:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return p.stdout


def fresh_catalog(p: dict[str, Any], checkpoint: Path) -> dict[str, Any]:
    """A new MINT_HOME with the corpus ingested, the checkpoint imported, and an API key."""
    shutil.rmtree(HOME, ignore_errors=True)
    corpus = ROOT / "corpus.jsonl"
    mint("data", "sample", str(corpus), "--n", str(p["dialogues"]))
    mint("data", "ingest", str(corpus), "--name", DATASET, "--validation", "0")
    start = time.perf_counter()
    shown = mint("models", "import", str(checkpoint), "--name", NAME, "--license", "apache-2.0")
    import_s = time.perf_counter() - start
    print(shown.rstrip(), flush=True)
    mint("tenants", "create", TENANT)
    key = mint("keys", "create", "--tenant", TENANT).strip().splitlines()[-1].strip()
    return {"import_s": import_s, "key": key}


# -- figures ------------------------------------------------------------------------------------
def serve(work: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The two servers through ``LEVELS``, as serving.py runs them."""
    out: dict[str, Any] = {}
    for side in ("modelmint-bfloat16", "transformers-serve"):
        out[side] = serving.run_server_side(side, work, args, home=HOME, logs=ROOT / "logs")
    return out


def short_outputs(raw: dict[str, Any], work: dict[str, Any], factor: int) -> list[str]:
    """Warnings for levels that returned fewer tokens than asked (then the sides did not do
    the same work)."""
    lines, offset = [], serving.WARMUP
    for c in LEVELS:
        n = serving.per_level(c, factor)
        wanted = sum(r["max_tokens"] for r in work["requests"][offset : offset + n])
        offset += n
        for side, result in raw.items():
            records = result["levels"][str(c)]["records"]
            got = sum(r.get("output_tokens", 0) for r in records)
            if got != wanted:
                lines.append(f"warning: {side} at concurrency {c}: {got} tokens, {wanted} asked")
    return lines


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan  # a side whose every request failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 layers, 4 steps, short outputs")
    ap.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the servers (default: all)")
    ap.add_argument("--mint-args", default="--queue-timeout 600", help="more `mint serve` options")
    ap.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        args.result.write_text(json.dumps(SIDES[args.side](HOME)))
        return
    ROOT.mkdir(parents=True, exist_ok=True)
    p = {**(QUICK if args.quick else FULL), "quick": args.quick}
    (ROOT / "plan.json").write_text(json.dumps(p))
    factor = 1 if args.quick else 2
    # what serving.run_server_side reads: both servers stop at the model's end tokens, which
    # the shrunk rows keep from ever being chosen
    args.levels, args.per_level, args.stops = LEVELS, factor, "natural"
    load_start, began = os.getloadavg(), time.perf_counter()

    peaks = [run_side("peak")]
    model = run_side("build")
    catalog = fresh_catalog(p, Path(model["dir"]))
    trained = {side: run_side(f"train-{side}") for side in ("modelmint", "peft")}
    work = {
        "model": NAME,
        "model_dir": model["dir"],
        "model_source": f"random, {p['layers']} layers, {model['dtype']}",
        "parameters": model["parameters"],
        "key": catalog["key"],
        "requests": model["requests"],
        "stop_ids": model["stop_ids"],
    }
    raw = serve(work, args)
    peaks.append(run_side("peak"))
    peak = max(x["bfloat16"] for x in peaks)

    params = model["parameters"]
    # the matrix products run in bfloat16 under autocast (CPUs with AMX), or without it when
    # the frozen base stays in its published bfloat16 (both sides, on every CPU): the share
    # is of the peak of the dtype they ran in
    low = trained["peft"]["bf16"] or trained["peft"]["base_dtype"] == "bfloat16"
    train_dtype = "bfloat16" if low else "float32"
    train_peak = max(x[train_dtype] for x in peaks)
    for t in trained.values():
        t["fraction_of_matmul_peak"] = 4 * params * t["tokens_per_s"] / train_peak
    training_ratio = ratio(trained["modelmint"]["tokens_per_s"], trained["peft"]["tokens_per_s"])
    table = {
        side: {c: serving.summarize(level, params, peak) for c, level in r["levels"].items()}
        for side, r in raw.items()
    }
    mine, theirs = table["modelmint-bfloat16"], table["transformers-serve"]
    serving_ratios = {
        f"modelmint/transformers-serve@{c}": ratio(
            mine[str(c)]["output_tokens_per_s"], theirs[str(c)]["output_tokens_per_s"]
        )
        for c in LEVELS
    }

    print(
        f"\nmodel: Qwen2 at Qwen2.5-0.5B's shapes, {p['layers']} layers, {params:,} parameters "
        f"({model['dtype']}), vocabulary {model['vocab']:,} ({LEARNED_VOCAB:,} learned), "
        f"{model['shrunk_rows']} rows shrunk; `mint models import` {catalog['import_s']:.1f} s"
    )
    print(
        f"training: LoRA {trained['modelmint']['lora']} (peft side: {PROJECTIONS}); batch "
        f"{p['batch']}, max length {p['max_length']}, {p['steps']} steps, timed after "
        f"{p['warm']}, in {train_dtype}; peak % = 4 x parameters x tokens/s over the "
        f"{train_dtype} matmul peak ({train_peak / 1e9:,.1f} GFLOP/s)"
    )
    for side, t in trained.items():
        print(
            f"  {side:10s} {t['tokens_per_s']:9,.1f} tokens/s  {t['mean_tokens_per_step']:7,.0f} "
            f"tokens/step  first step {t['first_step_s']:5.1f} s  "
            f"{100 * t['fraction_of_matmul_peak']:5.1f}% of peak  trainable "
            f"{t['trainable_parameters']:,}  peak RSS {t['peak_rss_mb']:,.0f} MB"
        )
    print(f"  modelmint / peft + Trainer = {training_ratio:.2f}")
    serving.print_table(table, work, args)
    for key, r in serving_ratios.items():
        print(f"serving {key} = {r:.2f}")
    for line in short_outputs(raw, work, factor):
        print(line)
    load_end = os.getloadavg()
    print(
        f"bf16 matmul peak (2048^3, {peaks[0]['threads']} threads) {peak / 1e9:,.1f} GFLOP/s "
        f"(start {peaks[0]['bfloat16'] / 1e9:,.1f}, end {peaks[1]['bfloat16'] / 1e9:,.1f}); "
        f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end; "
        f"{os.cpu_count()} CPUs; whole run {time.perf_counter() - began:.0f} s"
    )
    summary = {
        "plan": p,
        "model": {k: v for k, v in model.items() if k not in ("requests", "stop_ids")},
        "import_s": catalog["import_s"],
        "training": trained,
        "training_ratio_modelmint_over_peft": training_ratio,
        "serving": table,
        "serving_ratios": serving_ratios,
        "startup_s": {s: r["startup_s"] for s, r in raw.items()},
        "training_dtype": train_dtype,
        "bf16_matmul_peak_flops": peak,
        "fp32_matmul_peak_flops": max(x["float32"] for x in peaks),
        "matmul_peak_runs": peaks,
        "load_average": {"start": load_start, "end": load_end},
    }
    print(
        json.dumps(summary, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v)
    )


if __name__ == "__main__":
    main()
