"""Compression figures, all sides in one process, in one run.

The model: the ``small`` preset (Llama, 29.5M parameters, 8,192-token BPE) trained with the
pretrain-clm recipe exactly as ``mint quickstart --size small`` trains it (300 steps of
16 x 256 tokens on the curated sample corpus), once: it is cached under
``/tmp/mint-bench-compression`` and later runs reuse it (``--steps`` trains another).

The sides, each a model version made by the compression stage from that model:
  fp32        the trained model as ``mint serve`` serves it (float32)
  bf16        the same weights cast to bfloat16 (a baseline some would pick instead)
  int8        ``mint compress quantize --method int8-dynamic`` (the MLP output projections
              stay float32, the default)
  int8-all    the same over every Linear layer (``--quantize-mlp-output``)
  int8-head32 the same with the output layer (the 8,192-way vocabulary projection) kept in
              float32 (``--keep-output-layer``)
  int8-wo     (with ``--weight-only``) ``--method int8-weight-only`` (torchao)
  pruned      ``mint compress prune --sparsity 0.5`` (unstructured, Wanda: |weight| x input
              norm on 32 calibration blocks of the training split)
  pruned-mag  ``mint compress prune --sparsity 0.5 --method magnitude`` (unstructured)
  pruned-s    ``mint compress prune --sparsity 0.5 --structured`` (half the MLP neurons and
              half the attention heads of every layer removed)
  pruned-s+kd (with ``--heal-steps N``) the structured one after N steps of the distill
              recipe with the fp32 model as teacher

Figures per side: held-out perplexity on the dataset's validation split (the same function
and blocks the quickstart reports), size on disk, and decode tokens/s at batch 1 and 16:
greedy, a fixed 16-token prompt, 64 new tokens, prefill included, one forward pass per token
through a transformers ``DynamicCache`` (greedy search as ``model.generate`` runs it, without
its per-step bookkeeping; ``modelmint.compression.decode_tokens_per_second``). The machine is
shared and noisy, so the decode runs interleave the sides (fp32, bf16, int8, pruned, ...,
then again) for ``--rounds`` rounds and each figure is the median.

Threads: ``--threads`` (default ``2,1``: both cores, then one) via ``torch.set_num_threads``.
With other processes on the cores, one thread can beat two: int8 kernels run many short
parallel regions, and each waits for its slowest thread.

Run: ``.venv/bin/python benchmarks/compression.py [--rounds 5] [--heal-steps 200]``. The last
line printed is one JSON object with the ratios against fp32 and every raw figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(tempfile.gettempdir()) / "mint-bench-compression"
NAME = "bench-small"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def runtime() -> Any:
    from modelmint.cli.runtime import Runtime
    from modelmint.config import Settings

    return Runtime.open(Settings(home=ROOT, key_pepper="bench"))


def trained_model(rt: Any, steps: int) -> Any:
    """The trained small model, from the cache when an earlier run trained it."""
    from modelmint.catalog import CatalogError
    from modelmint.cli.pipeline import pretrain_recipe, sample_path, train_and_register
    from modelmint.data import curate
    from modelmint.samples import write_sample_corpus

    name = f"{NAME}-{steps}"
    try:
        return rt.catalog.resolve_model(f"{name}@trained")
    except CatalogError:
        pass
    path = sample_path(rt)
    write_sample_corpus(path)
    dataset = curate(rt.catalog, [path], "customer-service").dataset
    log(f"training {name}: small preset, {steps} steps (cached under {ROOT} for later runs)")
    start = time.perf_counter()
    recipe = pretrain_recipe(dataset, name, "small", steps)
    done = train_and_register(rt, dataset, recipe, alias="trained")
    log(f"trained in {time.perf_counter() - start:.0f}s; perplexity {done.perplexity:.3f}")
    return done.model


def side_models(rt: Any, source: Any, heal_steps: int, weight_only: bool) -> dict[str, Any]:
    """Every side as a catalog version made from ``source`` (reused when an earlier run made
    it), keyed by side name."""
    from modelmint.catalog import CatalogError
    from modelmint.compression import prune, quantize

    def made(tag: str, make: Any, parent: Any = source) -> Any:
        name = f"{source.name}-{tag}"
        try:
            found = rt.catalog.resolve_model(name)
            if found.parent_id == parent.id:
                return found
        except CatalogError:
            pass
        return make(name)

    sides = {
        "fp32": source,
        "bf16": source,
        "int8": made("int8d", lambda n: quantize(rt.catalog, source, "int8-dynamic", name=n).model),
        "int8-all": made(
            "int8all",
            lambda n: quantize(rt.catalog, source, "int8-dynamic", name=n, keep_float=()).model,
        ),
        "int8-head32": made(
            "int8h",
            lambda n: (
                quantize(rt.catalog, source, "int8-dynamic", name=n, output_layer=False).model
            ),
        ),
        "pruned": made("pruned50", lambda n: prune(rt.catalog, source, 0.5, name=n).model),
        "pruned-mag": made(
            "pruned50m",
            lambda n: prune(rt.catalog, source, 0.5, method="magnitude", name=n).model,
        ),
        "pruned-s": made(
            "pruned50s", lambda n: prune(rt.catalog, source, 0.5, structured=True, name=n).model
        ),
    }
    if weight_only:
        sides["int8-wo"] = made(
            "int8wo", lambda n: quantize(rt.catalog, source, "int8-weight-only", name=n).model
        )
    if heal_steps:
        sides["pruned-s+kd"] = made(
            f"pruned50s-kd{heal_steps}",
            lambda n: heal(rt, sides, n, heal_steps),
            parent=sides["pruned-s"],
        )
    return sides


def heal(rt: Any, sides: dict[str, Any], name: str, steps: int) -> Any:
    """The structured-pruned model after ``steps`` of the distill recipe (teacher: fp32)."""
    from modelmint.training import parse_recipe, start_training

    recipe = {
        "recipe": "distill",
        "name": name,
        "dataset": "customer-service",
        "teacher": sides["fp32"].label,
        "base": sides["pruned-s"].label,
        "hard_label_weight": 0.5,
        "training": {"max_steps": steps, "batch_size": 16, "learning_rate": 5e-4},
    }
    log(f"distilling {name}: {steps} steps")
    return start_training(rt.catalog, parse_recipe(recipe)).model


def measure(rt: Any, sides: dict[str, Any], rounds: int, threads: list[int]) -> dict[str, Any]:
    import torch

    from modelmint.compression import compare_decode_speed, directory_bytes
    from modelmint.evaluation import perplexity
    from modelmint.modeling import load_causal_lm, load_tokenizer, record_text

    source = sides["fp32"]
    tokenizer = load_tokenizer(source.path)
    lineage = rt.catalog.lineage(source)["dataset"]
    dataset = rt.catalog.get_dataset(lineage["name"], lineage["version"])
    texts = [record_text(r, tokenizer) for r in dataset.read_split("validation")]
    models = {}
    for side, ref in sides.items():
        model = load_causal_lm(ref.path)
        models[side] = model.to(torch.bfloat16) if side == "bf16" else model
    figures: dict[str, Any] = {side: {} for side in sides}
    for side, model in models.items():
        start = time.perf_counter()
        ppl = perplexity(model, tokenizer, texts, block_size=256)
        size = directory_bytes(sides[side].path)
        figures[side].update(
            perplexity=round(ppl, 4),
            size_mb=round(size / 1e6, 2),
            parameters=sides[side].num_parameters,
        )
        took = time.perf_counter() - start
        log(f"{side}: perplexity {ppl:.4f} ({took:.0f}s), {size / 1e6:.1f} MB")
    for n in threads:
        torch.set_num_threads(n)
        start = time.perf_counter()
        speeds = compare_decode_speed(models, batch_sizes=(1, 16), rounds=rounds)
        log(f"decode speed with {n} thread(s), {rounds} rounds: {time.perf_counter() - start:.0f}s")
        for side, by_batch in speeds.items():
            for batch, rate in by_batch.items():
                figures[side][f"tokens_per_s_b{batch}_t{n}"] = round(rate, 1)
                log(f"  {side:12} batch {batch:2}: {rate:8.1f} tokens/s")
    return figures


def ratios(figures: dict[str, Any], threads: list[int]) -> dict[str, Any]:
    base = figures["fp32"]
    out: dict[str, Any] = {}
    for side, f in figures.items():
        if side == "fp32":
            continue
        r: dict[str, float] = {
            "perplexity_change": round(f["perplexity"] / base["perplexity"] - 1, 4),
            "size": round(f["size_mb"] / base["size_mb"], 3),
        }
        for n in threads:
            for b in (1, 16):
                key = f"tokens_per_s_b{b}_t{n}"
                r[f"speed_b{b}_t{n}"] = round(f[key] / base[key], 3)
        out[side] = r
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps of the model")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved decode rounds")
    parser.add_argument("--threads", default="2,1", help="torch threads to measure with")
    parser.add_argument("--heal-steps", type=int, default=0, help="distill the structured one")
    parser.add_argument("--weight-only", action="store_true", help="add torchao int8 weight-only")
    parser.add_argument("--train-only", action="store_true", help="train and cache the model")
    args = parser.parse_args()
    threads = [int(n) for n in args.threads.split(",")]
    rt = runtime()
    source = trained_model(rt, args.steps)
    if args.train_only:
        return
    sides = side_models(rt, source, args.heal_steps, args.weight_only)
    figures = measure(rt, sides, args.rounds, threads)
    result = {
        "model": source.label,
        "train_steps": args.steps,
        "rounds": args.rounds,
        "decode": "greedy, 16-token prompt, 64 new tokens, DynamicCache loop",
        "ratios": ratios(figures, threads),
        "figures": figures,
    }
    print_table(result, threads)
    print(json.dumps(result))


def print_table(result: dict[str, Any], threads: list[int]) -> None:
    figures = result["figures"]
    head = ["side", "perplexity", "MB", *(f"b{b}/t{n}" for n in threads for b in (1, 16))]
    print(" | ".join(head))
    for side, f in figures.items():
        speeds = [f"{f[f'tokens_per_s_b{b}_t{n}']:.1f}" for n in threads for b in (1, 16)]
        print(" | ".join([side, f"{f['perplexity']:.4f}", f"{f['size_mb']:.1f}", *speeds]))


if __name__ == "__main__":
    main()
