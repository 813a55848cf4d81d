"""lm-evaluation-harness against a live ``mint serve``, and the same scores computed
directly from the model in-process: shared by tests/gateway/test_lm_eval_harness.py and
benchmarks/lm_eval_agreement.py.

The model is a micro Llama that has learned the answers of most (not all) questions of the
two tasks in tests/lm_eval_tasks, so its scores are neither all right nor all wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from modelmint.cli.runtime import Runtime
from modelmint.commerce import PLATFORM
from modelmint.commerce.admission import Budgets
from modelmint.commerce.pricing import PriceBooks
from modelmint.config import Settings
from modelmint.modeling import (
    build_causal_lm,
    count_parameters,
    llama_config_for,
    load_causal_lm,
    load_tokenizer,
    stop_token_ids,
)
from modelmint.training import train_tokenizer
from support.helpers import MICRO, TEXTS, build_micro_model, mint_serve_process

TASKS_DIR = Path(__file__).with_name("lm_eval_tasks")
MODEL = "tiny-eval"
TENANT = "evals"
BIN = Path(sys.executable).parent
LEARNED = {"mint_choice": 9, "mint_answer": 8}  # the first N docs of each task are taught
MAX_GEN_TOKS = 16  # as in mint_answer.yaml
# float32: the test checks agreement with a float32 computation to 1e-4
SERVE_OPTIONS = ["--threads", "1", "--dtype", "float32", "--log-level", "warning"]


def docs(task: str) -> list[dict[str, Any]]:
    lines = (TASKS_DIR / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _context(doc: dict[str, Any]) -> str:
    return f"{doc['question']}\nAnswer:"  # doc_to_text of both tasks


def _lesson_texts() -> list[str]:
    choice = [f"{_context(d)} {d['choices'][d['answer']]}\n" for d in docs("mint_choice")]
    answer = [f"{_context(d)} {d['answer']}\n" for d in docs("mint_answer")]
    return choice[: LEARNED["mint_choice"]] + answer[: LEARNED["mint_answer"]]


def build_task_model(out: Path, steps: int = 200, seed: int = 0) -> Path:
    """A ~100k-parameter model that has memorized the lessons (a few seconds on 2 cores)."""
    lessons = _lesson_texts()
    train_tokenizer(TEXTS + lessons * 20, out, vocab_size=600)
    tok = load_tokenizer(out)
    model = build_causal_lm(llama_config_for(MICRO, tok), seed=seed)
    rows = [tok.encode(t, add_special_tokens=False) for t in lessons]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = labels[i, : len(r)] = torch.tensor(r)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    # One thread: a model this small gains nothing from two, and loses 30x when the cores
    # are busy with other work.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            mask = (labels != -100).long()
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    finally:
        torch.set_num_threads(threads)
    model.save_pretrained(str(out))
    return out


def prepare_home(home: Path) -> str:
    """A MINT_HOME with the task model registered as ``tiny-eval`` and a tenant's key."""
    rt = Runtime.open(Settings(home=home, database_url=None, key_pepper=None))
    staged = rt.catalog.staging_dir("model")
    build_task_model(staged)
    params = count_parameters(load_causal_lm(staged))
    rt.catalog.add_model_version(
        MODEL, staged, run_id=None, kind="causal-lm", num_parameters=params, metrics={}
    )
    rt.tenants.create(TENANT)
    key = rt.keys.create(TENANT).key
    rt.store.close()
    return key


ENDLESS = "endless"  # the model of the billing tests: it never ends a text by itself
BUYER = "buyer"
INPUT_PRICE, OUTPUT_PRICE = 1_000_000, 2_000_000  # micro-units per million tokens


def build_endless_model(out: Path) -> Path:
    """The micro model made unable to end a text: its end tokens' output rows are zero, so
    their logits are 0 while some other of ~600 random logits is always higher; greedy
    decoding therefore generates exactly max_tokens, and a request costs its maximum."""
    build_micro_model(out)
    model = load_causal_lm(out)
    stops = stop_token_ids(load_tokenizer(out))
    with torch.no_grad():
        model.get_output_embeddings().weight[stops] = 0
    model.save_pretrained(str(out))
    return out


def prepare_priced_home(home: Path, budget_micros: int, database_url: str | None = None) -> str:
    """A MINT_HOME (and database) serving ``endless`` at 1 micro-unit per prompt token and
    2 per generated token to tenant ``buyer``, under a hard budget; returns its key."""
    rt = Runtime.open(Settings(home=home, database_url=database_url, key_pepper=None))
    try:
        staged = rt.catalog.staging_dir("model")
        build_endless_model(staged)
        params = count_parameters(load_causal_lm(staged))
        rt.catalog.add_model_version(
            ENDLESS, staged, run_id=None, kind="causal-lm", num_parameters=params, metrics={}
        )
        rt.tenants.create(BUYER)
        books = PriceBooks(rt.store)
        books.ensure_book(PLATFORM, "standard")
        books.set_price(PLATFORM, "standard", ENDLESS, INPUT_PRICE, OUTPUT_PRICE)
        Budgets(rt.store).set(PLATFORM, BUYER, budget_micros, "total", hard=True)
        return rt.keys.create(BUYER).key
    finally:
        rt.store.close()


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINT_")}
    # Nothing may come from the hub: the datasets are local JSON files.
    return {
        **env,
        "MINT_HOME": str(home),
        "HF_HOME": str(home / "hf"),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


@contextmanager
def serve_process(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``mint serve ARGS`` in a subprocess on a free port, once ``/health`` answers; yields
    the process and its base URL. ``env``: extra variables (MINT_DATABASE_URL, ...)."""
    with mint_serve_process(args, {**_env(home), **(env or {})}) as served:
        yield served


@contextmanager
def mint_serve(home: Path) -> Iterator[str]:
    """``mint serve`` of the task model; yields its base URL."""
    with serve_process(home, "--model", MODEL, *SERVE_OPTIONS) as (_, base):
        yield base


def harness_command(base: str, key: str, output: Path) -> list[str]:
    """The documented command line (README, Serving), with this server's URL and key."""
    model_args = ",".join(
        [
            f"model={MODEL}",
            f"base_url={base}/v1/completions",
            "tokenizer_backend=remote",
            f"auth_token={key}",
            "max_length=128",  # the model's context; lm_eval cannot ask the server for it
        ]
    )
    return [
        str(BIN / "lm_eval"),
        "--model",
        "local-completions",
        "--model_args",
        model_args,
        "--tasks",
        "mint_choice,mint_answer",
        "--include_path",
        str(TASKS_DIR),
        "--output_path",
        str(output),
        "--log_samples",
    ]


@dataclass(frozen=True)
class HarnessRun:
    metrics: dict[str, float]  # "mint_choice/acc", "mint_answer/exact_match"
    samples: dict[str, list[dict[str, Any]]]  # per task, by doc_id
    seconds: float


def run_harness(home: Path, base: str, key: str, output: Path) -> HarnessRun:
    start = time.perf_counter()
    done = subprocess.run(
        harness_command(base, key, output),
        env={**_env(home), "OPENAI_API_KEY": key},
        cwd=TASKS_DIR,  # the tasks' data_files are relative to it
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"lm_eval failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    results = json.loads(next(output.rglob("results_*.json")).read_text())["results"]
    metrics = {
        "mint_choice/acc": float(results["mint_choice"]["acc,none"]),
        "mint_answer/exact_match": float(results["mint_answer"]["exact_match,strip"]),
    }
    samples = {}
    for task in ("mint_choice", "mint_answer"):
        path = next(output.rglob(f"samples_{task}_*.jsonl"))
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        samples[task] = sorted(rows, key=lambda r: r["doc_id"])
    return HarnessRun(metrics, samples, seconds)


class DirectScorer:
    """The same questions answered by the model in-process, with plain torch and
    transformers: no engine, no HTTP."""

    def __init__(self, model_dir: Path) -> None:
        torch.set_num_threads(1)  # as the server runs it
        self.tok = load_tokenizer(model_dir)
        self.model = load_causal_lm(model_dir)

    def _encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text, add_special_tokens=False))

    @torch.inference_mode()
    def loglikelihood(self, context: str, continuation: str) -> float:
        # The harness's split: trailing spaces move to the continuation, and the
        # continuation's tokens are those of the whole text after the context's.
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
        whole = self._encode(context + continuation)
        start = len(self._encode(context))
        logits = self.model(input_ids=torch.tensor([whole])).logits[0]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        return sum(float(logprobs[i - 1, whole[i]]) for i in range(start, len(whole)))

    @torch.inference_mode()
    def greedy(self, context: str, until: str = "\n") -> str:
        ids = self._encode(context)
        stops = stop_token_ids(self.tok)
        out = self.model.generate(
            torch.tensor([ids]),
            max_new_tokens=MAX_GEN_TOKS,
            do_sample=False,
            eos_token_id=stops,
            pad_token_id=self.tok.pad_token_id,
        )[0, len(ids) :].tolist()
        text = str(self.tok.decode([t for t in out if t not in stops], skip_special_tokens=True))
        return text.split(until)[0]


def agreement(run: HarnessRun, direct: DirectScorer) -> dict[str, Any]:
    """Per-request log-likelihoods and generations of the harness against direct ones, and
    the task scores both ways."""
    max_diff, hits = 0.0, []
    for doc, sample in zip(docs("mint_choice"), run.samples["mint_choice"], strict=True):
        lls = [direct.loglikelihood(_context(doc), f" {c}") for c in doc["choices"]]
        served = [float(r[0][0]) for r in sample["resps"]]
        max_diff = max(max_diff, *(abs(a - b) for a, b in zip(lls, served, strict=True)))
        hits.append(lls.index(max(lls)) == doc["answer"])
    same_text, matches = [], []
    for doc, sample in zip(docs("mint_answer"), run.samples["mint_answer"], strict=True):
        text = direct.greedy(_context(doc))
        same_text.append(text == sample["resps"][0][0])
        matches.append(text.strip() == doc["answer"])
    direct_metrics = {
        "mint_choice/acc": sum(hits) / len(hits),
        "mint_answer/exact_match": sum(matches) / len(matches),
    }
    return {
        "loglikelihood_requests": sum(len(d["choices"]) for d in docs("mint_choice")),
        "max_abs_loglikelihood_diff": max_diff,
        "generations_identical": f"{sum(same_text)}/{len(same_text)}",
        "harness": run.metrics,
        "direct": direct_metrics,
        "scores_equal": run.metrics == direct_metrics,
        "harness_seconds": round(run.seconds, 1),
    }
