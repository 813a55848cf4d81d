"""The gateway's own cost: modelmint's gateway (key check, rate limits, a hard budget,
metering into the ledger) and the LiteLLM proxy, each in front of the same upstream that
answers at once, driven by the same client in one run.

The upstream (`InstantUpstream`, a subprocess) is an OpenAI-compatible server that does no
work: every completion is the same 16 tokens, whole or streamed, with ``usage``. What a
side adds over calling it directly is the gateway's cost.

The sides:
  direct      the client against the upstream itself: the floor;
  modelmint   ``mint serve --model M --upstream M=URL`` (a fresh MINT_HOME, SQLite, the
              model's tokenizer from the catalog), the tenant on a price book, under a
              hard budget, its key with a requests-per-minute limit too high to refuse;
              every request is admitted, reserved, settled and billed;
  litellm     ``litellm --config`` (the proxy, from the venv ``make litellm`` installs)
              with the same upstream as an ``openai/`` model and a master key. Its virtual
              keys, budgets and spend tracking need a PostgreSQL database of their own, so
              this side does less per request than modelmint's.

The load: ``--concurrency`` clients (default 32), each sending its next
``POST /v1/chat/completions`` (a short Chinese question, ``max_tokens`` 16) when the last
one ends, for ``--seconds`` per side after a warm-up, with aiohttp in this process.

Figures: requests/s; latency p50 and p99; added p50/p99 = the side's minus direct's; and
for modelmint, whether the ledger holds exactly the requests that succeeded at their price
(``spend_exact``). The ratio: modelmint / litellm requests/s (goal >= 2, at a lower p99).

Run: ``.venv/bin/python benchmarks/gateway.py`` (about 3 minutes). The last line printed
is one JSON object with every figure."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from serving import percentile  # benchmarks/serving.py

ROOT = Path(tempfile.gettempdir()) / "mint-bench-gateway"
REPO = Path(__file__).resolve().parents[1]
MINT = Path(sys.executable).with_name("mint")
LITELLM = REPO / ".venv-litellm" / "bin" / "litellm"
MODEL = "support"
TOKENS = 16  # every answer
PROMPT = "您好，我的订单 MM20261122-48213 什么时候发货？"
INPUT_PRICE, OUTPUT_PRICE = 1_000_000, 2_000_000  # micro-units per million tokens
MASTER_KEY = "sk-bench-master"

INSTANT_UPSTREAM = r"""
import json, sys, time
from aiohttp import web

TOKENS = int(sys.argv[2])
WORDS = ["您好", "，", "订单", "已", "发货", "。"] * TOKENS

def usage(prompt):
    return {"prompt_tokens": prompt, "completion_tokens": TOKENS,
            "total_tokens": prompt + TOKENS}

async def completions(request):
    body = await request.json()
    chat = request.path.endswith("chat/completions")
    prompt = body.get("prompt")
    n_prompt = len(prompt) if isinstance(prompt, list) else 8
    text = "".join(WORDS[:TOKENS])
    base = {"id": "cmpl-instant", "created": int(time.time()), "model": body["model"]}
    if not body.get("stream"):
        if chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": text},
                      "finish_reason": "length"}
            return web.json_response({**base, "object": "chat.completion",
                                      "choices": [choice], "usage": usage(n_prompt)})
        choice = {"index": 0, "text": text, "finish_reason": "length", "logprobs": None}
        return web.json_response({**base, "object": "text_completion",
                                  "choices": [choice], "usage": usage(n_prompt)})
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for i in range(TOKENS):
        last = i == TOKENS - 1
        if chat:
            choice = {"index": 0, "delta": {"content": WORDS[i]},
                      "finish_reason": "length" if last else None}
        else:
            choice = {"index": 0, "text": WORDS[i], "logprobs": None,
                      "finish_reason": "length" if last else None}
        used = {"prompt_tokens": n_prompt, "completion_tokens": i + 1,
                "total_tokens": n_prompt + i + 1}
        event = {**base, "choices": [choice], "usage": used}
        await response.write(f"data: {json.dumps(event)}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    return response

async def models(request):
    return web.json_response({"object": "list", "data": [
        {"id": "instant", "object": "model", "owned_by": "bench"}]})

async def health(request):
    return web.Response(text="ok")

app = web.Application()
app.router.add_post("/v1/completions", completions)
app.router.add_post("/v1/chat/completions", completions)
app.router.add_get("/v1/models", models)
app.router.add_get("/health", health)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    cmd: list[str], logfile: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with logfile.open("wb") as out:
        return subprocess.Popen(
            cmd,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def wait_ready(
    proc: subprocess.Popen[bytes], url: str, logfile: Path, headers: dict[str, str] | None = None
) -> None:
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url} exited:\n{logfile.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2, headers=headers).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer in 300 s:\n{logfile.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def prepare_home(home: Path) -> tuple[str, Path]:
    """A MINT_HOME with a small model registered (its tokenizer is what the gateway uses),
    a priced tenant under a hard budget and a key with a rate limit."""
    sys.path.insert(0, str(REPO / "tests"))
    from modelmint.cli.runtime import Runtime
    from modelmint.commerce import PLATFORM
    from modelmint.commerce.admission import Budgets
    from modelmint.commerce.pricing import PriceBooks
    from modelmint.config import Settings
    from support.helpers import build_micro_model

    rt = Runtime.open(Settings(home=home, database_url=None, key_pepper=None))
    try:
        staged = rt.catalog.staging_dir("model")
        build_micro_model(staged)
        rt.catalog.add_model_version(
            MODEL, staged, run_id=None, kind="causal-lm", num_parameters=1, metrics={}
        )
        rt.tenants.create("bench")
        books = PriceBooks(rt.store)
        books.ensure_book(PLATFORM, "standard")
        books.set_price(PLATFORM, "standard", MODEL, INPUT_PRICE, OUTPUT_PRICE)
        Budgets(rt.store).set(PLATFORM, "bench", 10**15, "total", hard=True)
        return rt.keys.create("bench", rpm_limit=10**7).key, home / "mint.db"
    finally:
        rt.store.close()


async def drive(url: str, key: str, model: str, concurrency: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": TOKENS,
        "temperature": 0,
    }
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    failures: list[str] = []
    ids: list[str] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def client(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                t = time.perf_counter()
                async with session.post(url, json=body) as r:
                    payload = await r.read()
                    if r.status != 200:
                        failures.append(f"HTTP {r.status}: {payload[:200]!r}")
                        continue
                if record:
                    latencies.append(time.perf_counter() - t)
                    ids.append(json.loads(payload)["id"])

        warm = time.perf_counter() + 3
        await asyncio.gather(*(client(warm, False) for _ in range(concurrency)))
        begin = time.perf_counter()
        await asyncio.gather(*(client(begin + seconds, True) for _ in range(concurrency)))
        wall = time.perf_counter() - begin
    return {
        "requests": len(latencies),
        "failed": len(failures),
        "first_failure": failures[0] if failures else None,
        "wall_s": wall,
        "requests_per_s": len(latencies) / wall,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "ids": ids,
    }


def ledger(db: Path) -> tuple[int, int, int]:
    """Usage events, their retail total in micro-units, and open reservations."""
    import sqlite3

    with sqlite3.connect(db) as c:
        events, spent = c.execute(
            "SELECT COUNT(*), COALESCE(SUM(retail_micros), 0) FROM usage_events"
        ).fetchone()
        held = c.execute("SELECT COUNT(*) FROM reservations").fetchone()[0]
    return int(events), int(spent), int(held)


def run_side(name: str, args: argparse.Namespace, upstream: str, logs: Path) -> dict[str, Any]:
    if name == "direct":
        return asyncio.run(
            drive(
                f"{upstream}/v1/chat/completions", "none", "instant", args.concurrency, args.seconds
            )
        )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logfile = logs / f"{name}.log"
    if name == "modelmint":
        home = ROOT / "home"
        if home.exists():
            import shutil

            shutil.rmtree(home)
        key, db = prepare_home(home)
        cmd = [
            str(MINT), "serve", "--model", MODEL, f"--upstream={MODEL}={upstream}/v1",
            "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
        proc = start(cmd, logfile, {"MINT_HOME": str(home)})
        try:
            wait_ready(proc, f"{base}/health", logfile)
            result = asyncio.run(
                drive(f"{base}/v1/chat/completions", key, MODEL, args.concurrency, args.seconds)
            )
        finally:
            stop(proc)
        events, spent, held = ledger(db)
        # every request, warm-up included, costs its prompt and 16 output tokens
        prompt_tokens = _prompt_tokens(home)
        price = prompt_tokens * INPUT_PRICE // 10**6 + TOKENS * OUTPUT_PRICE // 10**6
        result["ledger"] = {
            "events": events,
            "spent_micros": spent,
            "held": held,
            "per_request_micros": price,
        }
        result["spend_exact"] = (
            held == 0 and spent == events * price and events >= result["requests"]
        )
        return result
    config = logs / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        "      model: openai/instant\n"
        f"      api_base: {upstream}/v1\n"
        "      api_key: none\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
    )
    cmd = [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    proc = start(cmd, logfile, {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"})
    try:
        wait_ready(proc, f"{base}/health/liveliness", logfile)
        return asyncio.run(
            drive(f"{base}/v1/chat/completions", MASTER_KEY, MODEL, args.concurrency, args.seconds)
        )
    finally:
        stop(proc)


def _prompt_tokens(home: Path) -> int:
    from modelmint.cli.runtime import Runtime
    from modelmint.config import Settings
    from modelmint.serving import TextCodec

    rt = Runtime.open(Settings(home=home, database_url=None, key_pepper=None))
    try:
        codec = TextCodec(rt.catalog.resolve_model(MODEL).path)
    finally:
        rt.store.close()
    return len(codec.encode(codec.render_chat([{"role": "user", "content": PROMPT}])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--sides", default="direct,modelmint,litellm")
    args = ap.parse_args()
    ROOT.mkdir(parents=True, exist_ok=True)
    logs = ROOT / "logs"
    logs.mkdir(exist_ok=True)
    sides = args.sides.split(",")
    if "litellm" in sides and not LITELLM.exists():
        raise SystemExit(f"{LITELLM} is missing: `make litellm` installs the LiteLLM proxy")
    port = free_port()
    up_log = logs / "upstream.log"
    upstream_proc = start([sys.executable, "-c", INSTANT_UPSTREAM, str(port), str(TOKENS)], up_log)
    upstream = f"http://127.0.0.1:{port}"
    table: dict[str, Any] = {}
    try:
        wait_ready(upstream_proc, f"{upstream}/health", up_log)
        for side in sides:
            log(f"running {side} ...")
            table[side] = run_side(side, args, upstream, logs)
            t = table[side]
            log(
                f"  {side}: {t['requests_per_s']:,.0f} requests/s, p50 {t['p50_ms']:.1f} ms, "
                f"p99 {t['p99_ms']:.1f} ms, {t['failed']} failed"
            )
    finally:
        stop(upstream_proc)
    for t in table.values():
        t.pop("ids", None)
    floor = table.get("direct")
    print(
        f"\n{'side':10s} {'req/s':>8s} {'p50':>8s} {'p99':>8s} "
        f"{'added p50':>10s} {'added p99':>10s} {'failed':>6s}"
    )
    for side, t in table.items():
        if floor is not None:
            t["added_p50_ms"] = t["p50_ms"] - floor["p50_ms"]
            t["added_p99_ms"] = t["p99_ms"] - floor["p99_ms"]
        print(
            f"{side:10s} {t['requests_per_s']:8.1f} {t['p50_ms']:6.1f}ms {t['p99_ms']:6.1f}ms "
            f"{t.get('added_p50_ms', math.nan):8.1f}ms {t.get('added_p99_ms', math.nan):8.1f}ms "
            f"{t['failed']:6d}"
        )
    ratios: dict[str, Any] = {}
    if "modelmint" in table and "litellm" in table:
        mine, peer = table["modelmint"], table["litellm"]
        ratios["modelmint/litellm requests_per_s"] = mine["requests_per_s"] / peer["requests_per_s"]
        ratios["modelmint/litellm p99"] = mine["p99_ms"] / peer["p99_ms"]
        print(
            f"modelmint / litellm: {ratios['modelmint/litellm requests_per_s']:.2f}x requests/s "
            f"(goal >= 2), p99 ratio {ratios['modelmint/litellm p99']:.2f} (goal < 1); "
            f"spend exact: {mine['spend_exact']}"
        )
    print(
        json.dumps(
            {
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "cpus": os.cpu_count(),
                "sides": table,
                "ratios": ratios,
            }
        )
    )


if __name__ == "__main__":
    main()
