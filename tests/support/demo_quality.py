"""How the demo model's answers are judged: customer openings it never trained on, and a
classifier of the agent's replies that tells which intent a reply serves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
QUESTIONS_PER_INTENT = 10  # 100 openings: at 50, one reply moves the share by 2 points
# A short run of the classify recipe on the first assistant turn (200 steps): it tells the
# agent's replies apart well enough (about 90% of them; what it confuses most are requests
# for an order number, which read almost the same whatever the intent) for a fraction of
# the full recipe's three epochs.
JUDGE_TRAINING = [
    "name=reply-intent",
    "input=first_assistant_turn",
    "max_length=64",
    "training.max_steps=200",
    "training.batch_size=32",
    "training.learning_rate=2.0e-4",
    "training.eval_every=null",
    # An instrument, so float32 on every machine: trained under bfloat16 autocast (chosen
    # where the CPU has AMX), the judge's score of the demo model fell to 61% in one run of
    # three on such a machine.
    "training.bf16=false",
]


@dataclass(frozen=True)
class Question:
    text: str
    intent: str
    lang: str
    gold_reply: str


def held_out_questions(train_records: list[dict[str, Any]]) -> list[Question]:
    """Customer openings from a corpus drawn with another seed, none of them a customer
    message of the training split; as many of each intent, the languages alternating."""
    from modelmint.samples import INTENTS, generate_sample_corpus

    seen = {m["content"] for r in train_records for m in r["messages"] if m["role"] == "user"}
    records, _ = generate_sample_corpus(600, seed=1)
    picked: list[Question] = []
    for n, intent in enumerate(INTENTS):
        langs = ["zh", "en"] * QUESTIONS_PER_INTENT
        for lang in langs[n % 2 : n % 2 + QUESTIONS_PER_INTENT]:
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


def train_judge(catalog: Any) -> IntentJudge:
    from modelmint.training import load_recipe, start_training

    recipe = load_recipe(RECIPES / "classify-minilm.yaml", JUDGE_TRAINING)
    model = start_training(catalog, recipe).model
    assert model is not None
    return IntentJudge(model.path)


class IntentJudge:
    """The intent a reply serves, by the classifier trained on the agent's replies."""

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
