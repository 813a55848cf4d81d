"""Builders shared by tests: a tiny random Llama with a real trained tokenizer, and a free
local port for a server a test starts."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from modelmint.modeling import build_causal_lm, llama_config_for, load_tokenizer
from modelmint.modeling.presets import Preset
from modelmint.training import train_tokenizer

TEXTS = [
    "您好，我的订单 MM20261122-48213 什么时候发货？我已经等了三天了。",
    "退款已经处理，预计3-5个工作日原路退回到您的账户。感谢您的耐心！",
    "Hello, where is my order? I bought the wireless noise-cancelling headphones last week.",
    "Your refund has been approved and should arrive within 5 business days. Thank you!",
    "顺丰快递单号 SF1234567890，预计明天下午送达北京市朝阳区。",
    "I'd like to change the shipping address for order MM20261120-11111 to Shanghai.",
] * 40

MICRO = Preset(hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128, context_length=128)


def build_micro_model(out: Path, seed: int = 0) -> Path:
    """A ~100k-parameter model with a 600-token byte-level BPE: fast, and real in every way
    but its weights."""
    train_tokenizer(TEXTS, out, vocab_size=600)
    tok = load_tokenizer(out)
    assert tok.eos_token_id is not None and tok.pad_token_id is not None
    config = llama_config_for(MICRO, tok)
    build_causal_lm(config, seed=seed).save_pretrained(str(out))
    return out


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def mint_serve_process(
    args: Sequence[str], env: dict[str, str], *, seconds: float = 300
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``mint serve ARGS`` in a subprocess on a free port, once ``/health`` answers; yields
    the process and its base URL, and stops it afterwards. Its output is read only when it
    exits before answering (the error then carries it)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("mint")), "serve", *args, "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read().decode() if proc.stdout else "exited")
            if time.monotonic() > deadline:
                raise TimeoutError(f"mint serve {' '.join(args)} did not answer in {seconds} s")
            time.sleep(0.1)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
