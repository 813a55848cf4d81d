"""The whole loop as a user runs it: `mint quickstart --size tiny`, then `mint serve`, driven
by the official openai client over a real socket; last, whether the demo model answers like
the support agent of its data (tests/support/demo_quality.py says how that is judged)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
import torch

from support.demo_quality import QUESTIONS_PER_INTENT, Question, held_out_questions, train_judge
from support.helpers import mint_serve_process

# The quickstart trains on the CPU as `make demo` does: on a 2-core machine without AVX-512
# its fixture alone took more than the suite's 15 minutes a test (750 steps, at 1.4 s a step
# beside the other worker); its own limit is 30 minutes, and the first test waits for it.
pytestmark = [pytest.mark.slow, pytest.mark.first, pytest.mark.timeout(2100)]
MINT = str(Path(sys.executable).with_name("mint"))


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINT_")}
    return {**env, "MINT_HOME": str(home), "COLUMNS": "200"}


def _mint(home: Path, *args: str, timeout: float = 300, **env: str) -> str:
    done = subprocess.run(
        [MINT, *args],
        env=_env(home) | env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"mint {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mint-home")


@pytest.fixture(scope="module")
def quickstart(home: Path) -> dict:
    # On every core, as `make demo` trains it: the number of threads changes the arithmetic
    # a little, and the demo's quality is measured on the model a user gets. It is also the
    # suite's longest job, which the other worker's one-core tests finish well before.
    cores = str(len(os.sched_getaffinity(0)))
    out = _mint(home, "quickstart", "--size", "tiny", timeout=1800, OMP_NUM_THREADS=cores)
    return {
        "key": out.strip().splitlines()[-1],
        "output": out,
    }


@pytest.fixture(scope="module")
def server(home: Path, quickstart: dict) -> Iterator[str]:
    args = ["--model", "demo", "--host", "127.0.0.1", "--log-level", "warning"]
    with mint_serve_process(args, _env(home)) as (_, base):
        yield base


@pytest.fixture(scope="module")
def client(server: str, quickstart: dict) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=quickstart["key"], max_retries=0)


def test_quickstart_trains_registers_and_prints_a_key(home: Path, quickstart: dict) -> None:
    assert quickstart["key"].startswith("mm-")
    models = json.loads(_mint(home, "models", "list", "--json"))
    demo = [m for m in models if m["name"] == "demo"]
    assert len(demo) == 1
    m = demo[0]
    assert m["aliases"] == ["production"] and m["dataset"] == "customer-service:1"
    assert 1e6 < m["parameters"] < 2e6
    # The bar: trained held-out perplexity at most 1/20 of the untrained model's.
    assert m["metrics"]["perplexity"] * 20 <= m["metrics"]["perplexity_untrained"]
    lineage = json.loads(_mint(home, "models", "show", "demo@production"))["lineage"]
    assert lineage["dataset"]["name"] == "customer-service"
    assert lineage["run"]["kind"] == "train:pretrain-clm"
    assert (Path(m["path"]) / "model.safetensors").exists()
    assert quickstart["key"] not in (home / "mint.db").read_bytes().decode("latin-1")


def test_models_and_completions(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["demo"]
    prompt = "<|im_start|>user\nWhere is my order?<|im_end|>\n<|im_start|>assistant\n"
    r = client.completions.create(model="demo", prompt=prompt, max_tokens=20, temperature=0)
    assert r.choices[0].text
    assert r.usage is not None and 1 <= r.usage.completion_tokens <= 20


def test_chat_answers_with_valid_text(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="demo",
        messages=[{"role": "user", "content": "你好，我的订单什么时候发货？"}],
        max_tokens=60,
        temperature=0,
    )
    text = r.choices[0].message.content or ""
    assert text and "\ufffd" not in text
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.id.startswith("chatcmpl-") and r.object == "chat.completion"


def test_chinese_stream_never_splits_a_character(client: openai.OpenAI) -> None:
    kwargs = {
        "model": "demo",
        "max_tokens": 80,
        "seed": 42,
        "temperature": 0.8,
        "messages": [{"role": "user", "content": "请问怎么申请退款？"}],
    }
    whole = client.chat.completions.create(**kwargs).choices[0].message.content
    pieces, usage = [], None
    for chunk in client.chat.completions.create(
        **kwargs, stream=True, stream_options={"include_usage": True}
    ):
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
    assert pieces and all("\ufffd" not in p for p in pieces)
    assert "".join(pieces) == whole
    assert usage is not None and usage.completion_tokens >= len(pieces) - 1


def test_stop_and_max_tokens(client: openai.OpenAI) -> None:
    r = client.completions.create(model="demo", prompt="Hello", max_tokens=3, temperature=0)
    assert r.usage.completion_tokens <= 3
    prompt = "<|im_start|>user\nI want a refund<|im_end|>\n<|im_start|>assistant\n"
    free = (
        client.completions.create(model="demo", prompt=prompt, max_tokens=40, temperature=0)
        .choices[0]
        .text
    )
    assert len(free) > 12
    stop = free[8:11]
    cut = client.completions.create(
        model="demo", prompt=prompt, max_tokens=40, temperature=0, stop=[stop]
    )
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].text == free[: free.find(stop)]


def test_usage_cli_agrees_with_returned_usage(home: Path, client: openai.OpenAI) -> None:
    before = json.loads(_mint(home, "usage", "--tenant", "demo", "--json"))
    got_prompt = got_completion = 0
    for prompt in ["Where is my refund?", "我要退货", "Cancel my order please"]:
        r = client.chat.completions.create(
            model="demo", max_tokens=16, messages=[{"role": "user", "content": prompt}]
        )
        got_prompt += r.usage.prompt_tokens
        got_completion += r.usage.completion_tokens
    after = json.loads(_mint(home, "usage", "--tenant", "demo", "--json"))
    assert after["requests"] - before["requests"] == 3
    assert after["prompt_tokens"] - before["prompt_tokens"] == got_prompt
    assert after["completion_tokens"] - before["completion_tokens"] == got_completion


def test_missing_or_wrong_key_is_401(server: str) -> None:
    for key in ["mm-000000000000-wrong", "sk-whatever"]:
        bad = openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0)
        with pytest.raises(openai.AuthenticationError) as e:
            bad.models.list()
        assert e.value.status_code == 401 and e.value.code == "invalid_api_key"
    r = httpx.post(f"{server}/v1/chat/completions", json={"model": "demo", "messages": []})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_errors_have_openai_shape(server: str, client: openai.OpenAI, quickstart: dict) -> None:
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert nf.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model="demo", prompt="x", temperature=7)
    assert bad.value.param == "temperature"
    with pytest.raises(openai.BadRequestError) as long:
        client.completions.create(model="demo", prompt="订单 " * 2000, max_tokens=10)
    assert long.value.code == "context_length_exceeded"
    assert "512" in long.value.message
    r = httpx.post(
        f"{server}/v1/completions",
        content=b"{not json",
        headers={
            "Authorization": f"Bearer {quickstart['key']}",
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


# The goal: replies on the customer's intent and in the customer's language.
ON_INTENT, IN_LANGUAGE = 0.8, 0.95


def _share(got: list[str], want: list[str]) -> float:
    return sum(g == w for g, w in zip(got, want, strict=True)) / len(want)


def test_the_demo_model_answers_on_intent_in_the_customers_language(
    home: Path, client: openai.OpenAI
) -> None:
    """100 openings the demo never trained on, asked through the live API as the README
    asks (temperature 0, the chat route), each reply judged for its intent and language
    against the opening's gold labels."""
    from modelmint.cli.runtime import Runtime
    from modelmint.config import Settings
    from modelmint.data.langid import detect_language

    catalog = Runtime.open(Settings(home=home, database_url=None, key_pepper=None)).catalog
    train = list(catalog.get_dataset("customer-service").read_split("train"))
    questions: list[Question] = held_out_questions(train)
    assert len(questions) == 10 * QUESTIONS_PER_INTENT
    assert Counter(q.lang for q in questions) == {"zh": 50, "en": 50}

    def ask(q: Question) -> str:
        r = client.chat.completions.create(
            model="demo",
            messages=[{"role": "user", "content": q.text}],
            max_tokens=64,
            temperature=0,
        )
        return r.choices[0].message.content or ""

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(ask, questions))
    threads = torch.get_num_threads()
    torch.set_num_threads(len(os.sched_getaffinity(0)))  # most often the last job left
    try:
        judge = train_judge(catalog)
    finally:
        torch.set_num_threads(threads)
    # The judge itself, on the agent's own replies to these openings.
    judge_accuracy = _share(judge([q.gold_reply for q in questions]), [q.intent for q in questions])
    intents = judge(replies)
    on_intent = _share(intents, [q.intent for q in questions])
    langs = [detect_language(r).lang for r in replies]
    in_language = _share(langs, [q.lang for q in questions])
    report = "\n".join(
        f"[{q.intent}/{q.lang} -> {i}/{g}] {q.text[:60]!r} -> {r[:80]!r}"
        for q, r, i, g in zip(questions, replies, intents, langs, strict=True)
    )
    print(
        f"\non intent {on_intent:.0%}, in the customer's language {in_language:.0%} "
        f"(judge on the agent's own replies: {judge_accuracy:.0%})\n{report}"
    )
    assert judge_accuracy >= 0.8, report
    assert on_intent >= ON_INTENT and in_language >= IN_LANGUAGE, report
