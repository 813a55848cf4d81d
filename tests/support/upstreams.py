"""Real upstream servers for the gateway to front: vLLM's CPU backend, from the venv of its
own that ``make vllm`` installs, and the model both it and ``mint serve`` load.

The model is a small Llama that has read the support texts (so it answers in Chinese and
English), shaped for vLLM's CPU attention (head size 64), and made unable to end a text: its
end tokens' output rows are zero, so a request always generates exactly ``max_tokens`` and a
long answer is long enough to be cut in the middle."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
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
from modelmint.modeling.presets import Preset
from modelmint.training import train_tokenizer
from support.helpers import TEXTS, free_port

REPO = Path(__file__).resolve().parents[2]
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
MODEL = "support"
TENANT = "shop"
INPUT_PRICE, OUTPUT_PRICE = 1_000_000, 2_000_000  # micro-units per million tokens
# Long enough that an answer running to the end of it outlasts a loaded machine's delays:
# the mid-answer kill must land before the replica has sent everything.
CONTEXT = 4096
SHAPE = Preset(
    hidden_size=128, num_layers=2, num_heads=2, intermediate_size=256, context_length=CONTEXT
)


def build_support_model(out: Path, steps: int = 40) -> Path:
    train_tokenizer(TEXTS, out, vocab_size=600)
    tok = load_tokenizer(out)
    model = build_causal_lm(llama_config_for(SHAPE, tok), seed=0)
    rows = [tok.encode(t, add_special_tokens=False) for t in TEXTS[:6]]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = labels[i, : len(r)] = torch.tensor(r)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            loss = model(input_ids=ids, attention_mask=(labels != -100).long(), labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        model.get_output_embeddings().weight[stop_token_ids(tok)] = 0
    model.save_pretrained(str(out))
    return out


def prepare_support_home(home: Path, database_url: str | None = None) -> tuple[str, Path]:
    """A MINT_HOME serving ``support``, priced for tenant ``shop`` under a budget too large
    to matter; returns the tenant's key and the model's directory (the one an upstream
    server loads)."""
    rt = Runtime.open(Settings(home=home, database_url=database_url, key_pepper=None))
    try:
        staged = rt.catalog.staging_dir("model")
        build_support_model(staged)
        params = count_parameters(load_causal_lm(staged))
        ref = rt.catalog.add_model_version(
            MODEL, staged, run_id=None, kind="causal-lm", num_parameters=params, metrics={}
        )
        rt.tenants.create(TENANT)
        books = PriceBooks(rt.store)
        books.ensure_book(PLATFORM, "standard")
        books.set_price(PLATFORM, "standard", MODEL, INPUT_PRICE, OUTPUT_PRICE)
        Budgets(rt.store).set(PLATFORM, TENANT, 10**12, "total", hard=True)
        return rt.keys.create(TENANT).key, ref.path
    finally:
        rt.store.close()


def vllm_python() -> Path:
    if not VLLM_PYTHON.exists():
        pytest.fail(
            f"vLLM's CPU backend is not installed in {VLLM_PYTHON.parent.parent}: run `make vllm`"
        )
    return VLLM_PYTHON


@contextmanager
def vllm_servers(
    model_dir: Path, count: int, logs: Path, *, api_key: str | None = None, seconds: float = 600
) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    """``count`` vLLM OpenAI servers on ``model_dir`` (float32, as the native engine is
    compared in), started together on free ports, each logging into ``logs``; yields each
    process and its ``/v1`` URL once every ``/health`` answers, and stops them afterwards."""
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for _ in range(count):
            started.append(_start_vllm(model_dir, logs, api_key))
        deadline = time.monotonic() + seconds
        for proc, base, log in started:
            _wait_healthy(proc, base, log, deadline)
        yield [(proc, f"{base}/v1") for proc, base, _ in started]
    finally:
        for proc, _, _ in started:
            stop_group(proc, signal.SIGTERM)
        for proc, _, _ in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            stop_group(proc, signal.SIGKILL)  # its engine and worker processes too


def stop_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Sends ``sig`` to a server started by `vllm_servers` and every process it started
    (vLLM's engine core and worker outlive their API server otherwise)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _start_vllm(
    model_dir: Path, logs: Path, api_key: str | None
) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    command = [
        str(vllm_python()), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir), "--port", str(port), "--host", "127.0.0.1",
        "--dtype", "float32", "--max-model-len", str(CONTEXT),
        # no graph compiling: a minute less to start, and the tests time no tokens
        "--enforce-eager",
    ]  # fmt: skip
    if api_key is not None:
        command += ["--api-key", api_key]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        # share the cores with the test workers rather than pin them
        "VLLM_CPU_OMP_THREADS_BIND": "nobind",
        "OMP_NUM_THREADS": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }
    log = logs / f"vllm-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,  # one process group: the server and what it starts
        )
    return proc, f"http://127.0.0.1:{port}", log


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, log: Path, deadline: float) -> None:
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"vLLM did not start at {base}:\n{tail}")
        time.sleep(0.5)
