"""`mint serve` on SIGTERM: stops taking requests, lets the ones in flight finish (up to
--drain-timeout), bills them exactly as they were delivered, then exits cleanly."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from modelmint.cli.runtime import Runtime
from modelmint.config import Settings
from modelmint.modeling import count_parameters, load_causal_lm
from modelmint.store import Store, UsageEvent
from support.helpers import build_micro_model
from support.lm_eval import serve_process

pytestmark = pytest.mark.slow


def _home_with_model(home: Path) -> str:
    rt = Runtime.open(Settings(home=home, database_url=None, key_pepper=None))
    staged = rt.catalog.staging_dir("model")
    build_micro_model(staged)
    params = count_parameters(load_causal_lm(staged))
    rt.catalog.add_model_version(
        "micro", staged, run_id=None, kind="causal-lm", num_parameters=params, metrics={}
    )
    rt.tenants.create("acme")
    key = rt.keys.create("acme").key
    rt.store.close()
    return key


def test_sigterm_drains_in_flight_streams(tmp_path: Path) -> None:
    key = _home_with_model(tmp_path)
    options = ["--threads", "1", "--drain-timeout", "20", "--log-level", "warning"]
    with serve_process(tmp_path, "--model", "micro", *options) as (proc, base):
        events: list[str] = []
        first_chunk = threading.Event()

        def stream() -> None:
            body = {
                "model": "micro",
                "prompt": "您好",
                "max_tokens": 100,
                "n": 16,
                "temperature": 1.0,
                "seed": 3,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.stream(
                "POST", f"{base}/v1/completions", json=body, headers=headers, timeout=60
            ) as r:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        events.append(line[6:])
                        first_chunk.set()

        client = threading.Thread(target=stream)
        client.start()
        assert first_chunk.wait(60)
        proc.send_signal(signal.SIGTERM)
        client.join(60)
        # uvicorn re-raises the signal once drained, so the exit status is SIGTERM's own.
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
        assert events[-1] == "[DONE]", events[-3:]
        chunks = [json.loads(e) for e in events[:-1]]
        finished = [c["choices"][0] for c in chunks if c["choices"]]
        assert {c["index"] for c in finished if c["finish_reason"]} == set(range(16))
        usage = chunks[-1]["usage"]
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/health", timeout=2)
    store = Store.open(f"sqlite:///{tmp_path / 'mint.db'}")
    try:
        with store.session() as s:
            [event] = s.scalars(select(UsageEvent)).all()
            billed = (event.status, event.prompt_tokens, event.completion_tokens)
    finally:
        store.close()
    assert billed == ("completed", usage["prompt_tokens"], usage["completion_tokens"])
