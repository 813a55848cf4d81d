"""The demo model answers like the support agent of its data: `mint quickstart` as a user
runs it, then 50 customer openings it never trained on, put through the serving engine as a
chat request would be (greedy). Each reply is judged on two counts against the opening's
gold labels: its intent, by a classifier the classify recipe trains on the agent replies of
the same dataset (recipes/classify-minilm.yaml, reading the first assistant turn), and its
language, by the project's language detector."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

pytestmark = pytest.mark.slow
MINT = str(Path(sys.executable).with_name("mint"))
RECIPES = Path(__file__).resolve().parents[2] / "recipes"
QUESTIONS_PER_INTENT = 5
# A short run of the recipe (200 steps): it tells the agent's replies apart well enough
# (about 90% of them; the Chinese requests for an order number are what it confuses most)
# for a fraction of the full recipe's three epochs.
JUDGE_TRAINING = [
    "name=reply-intent",
    "input=first_assistant_turn",
    "max_length=64",
    "training.max_steps=200",
    "training.batch_size=32",
    "training.learning_rate=2.0e-4",
    "training.eval_every=null",
]
# The goal: replies on the customer's intent and in the customer's language.
ON_INTENT, IN_LANGUAGE = 0.8, 0.95


@dataclass(frozen=True)
class Question:
    text: str
    intent: str
    lang: str
    gold_reply: str


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINT_")}
    return {**env, "MINT_HOME": str(home), "COLUMNS": "200"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-home")
    done = subprocess.run(
        [MINT, "quickstart"],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"quickstart failed:\n{done.stdout}\n{done.stderr}"
    return home


@pytest.fixture(scope="module")
def catalog(home: Path) -> Any:
    from modelmint.cli.runtime import Runtime
    from modelmint.config import Settings

    return Runtime.open(Settings(home=home, database_url=None, key_pepper=None)).catalog


@pytest.fixture(scope="module")
def questions(catalog: Any) -> list[Question]:
    """Customer openings from a corpus drawn with another seed, none of them a customer
    message of the demo's training data; as many of each intent, the languages alternating."""
    from modelmint.data.sample import INTENTS, generate_sample_corpus

    dataset = catalog.get_dataset("customer-service")
    seen = {
        m["content"]
        for r in dataset.read_split("train")
        for m in r["messages"]
        if m["role"] == "user"
    }
    records, _ = generate_sample_corpus(600, seed=1)
    picked: list[Question] = []
    for n, intent in enumerate(INTENTS):
        langs = ["zh", "en"] * QUESTIONS_PER_INTENT
        want = langs[n % 2 : n % 2 + QUESTIONS_PER_INTENT]
        for lang in want:
            r = next(
                r
                for r in records
                if r["intent"] == intent
                and r["lang"] == lang
                and r["messages"][0]["content"] not in seen
                and all(q.text != r["messages"][0]["content"] for q in picked)
            )
            m = r["messages"]
            picked.append(Question(m[0]["content"], intent, lang, m[1]["content"]))
    return picked


@pytest.fixture(scope="module")
def judge(catalog: Any) -> Any:
    from modelmint.training import load_recipe, start_training

    recipe = load_recipe(RECIPES / "classify-minilm.yaml", JUDGE_TRAINING)
    model = start_training(catalog, recipe).model
    assert model is not None
    return IntentJudge(model.path)


class IntentJudge:
    def __init__(self, path: Path) -> None:
        from transformers import AutoModelForSequenceClassification

        from modelmint.modeling import load_tokenizer

        self.tokenizer = load_tokenizer(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            str(path), local_files_only=True
        ).eval()
        self.classes = json.loads((path / "labels.json").read_text())["classes"]

    @torch.no_grad()
    def __call__(self, texts: list[str]) -> list[str]:
        enc = self.tokenizer(
            texts, truncation=True, max_length=64, padding=True, return_tensors="pt"
        )
        return [self.classes[i] for i in self.model(**enc).logits.argmax(-1).tolist()]


@pytest.fixture(scope="module")
def replies(catalog: Any, questions: list[Question]) -> list[str]:
    """Each opening as the chat route sends it: the chat template with the assistant's cue,
    greedy, at most 64 tokens, through the engine `mint serve` runs (its default dtype)."""
    from modelmint.serving import Engine, EngineConfig, SamplingParams

    engine = Engine.load(
        catalog.resolve_model("demo@production").path, config=EngineConfig(dtype="auto")
    )
    params = SamplingParams(max_tokens=64, temperature=0.0)

    async def answer_all() -> list[str]:
        prompts = [
            engine.codec.encode(engine.codec.render_chat([{"role": "user", "content": q.text}]))
            for q in questions
        ]
        done = await asyncio.gather(*(engine.complete(p, params) for p in prompts))
        return [c.text for c in done]

    try:
        return asyncio.run(answer_all())
    finally:
        engine.close()


def _share(got: list[str], want: list[str]) -> float:
    return sum(g == w for g, w in zip(got, want, strict=True)) / len(want)


def test_the_demo_model_answers_on_intent_in_the_customers_language(
    questions: list[Question], replies: list[str], judge: Any
) -> None:
    from modelmint.data.langid import detect_language

    assert len(questions) == 10 * QUESTIONS_PER_INTENT
    assert Counter(q.lang for q in questions) == {"zh": 25, "en": 25}
    # The judge itself: the agent's own replies to these openings.
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
    if on_intent < ON_INTENT or in_language < IN_LANGUAGE:
        # Measured, printed, and not yet reached by the quickstart recipe: the test turns
        # into a plain pass once it is, and fails only if the judge cannot be trusted.
        pytest.xfail(
            f"on intent {on_intent:.0%} (goal {ON_INTENT:.0%}), in the customer's language "
            f"{in_language:.0%} (goal {IN_LANGUAGE:.0%})"
        )
