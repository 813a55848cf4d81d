"""The template tables of the synthetic corpus, read from ``corpus.json`` beside this module.

The tables are data, so they live in a data file shipped with the package: hand-written,
invented text (the shop "MintMall", its brands and products, companies and people are made
up) that can be read and edited without reading code. The file's ``notes`` say what each
table is for. This module gives them the shapes :mod:`modelmint.samples.dialogues` draws
from; the generator picks entries by position, so the file's order is part of every corpus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any


@dataclass(frozen=True)
class Product:
    zh: str
    en: str
    cny: int
    usd: float
    has_color: bool


@dataclass(frozen=True)
class Scenario:
    # What the agent must know before resolving: "order" (order number), "user" (username) or
    # None. An opening that lacks the matching placeholder makes the agent ask for it first.
    detail: str | None
    opens: Sequence[str]
    resolves: Sequence[str]
    follows: Sequence[tuple[str, str]] = ()
    # A routine request or pre-sale question: an unhappy customer is annoyed at the service
    # (slow replies, unclear pages), not at the request itself, so it gets other wording.
    calm: bool = False


@dataclass(frozen=True)
class IntentText:
    asks: Sequence[str]
    scenarios: Sequence[Scenario]


Words = dict[str, tuple[str, ...]]  # language -> entries
Tones = dict[str, dict[str, tuple[str, ...]]]  # language -> sentiment (or detail) -> entries

_TABLES: dict[str, Any] = json.loads(
    files("modelmint.samples").joinpath("corpus.json").read_text(encoding="utf-8")
)


def _words(name: str) -> Words:
    return {lang: tuple(entries) for lang, entries in _TABLES[name].items()}


def _tones(name: str) -> Tones:
    return {
        lang: {key: tuple(entries) for key, entries in by_key.items()}
        for lang, by_key in _TABLES[name].items()
    }


def _pairs(name: str) -> dict[str, tuple[tuple[str, str], ...]]:
    return {lang: tuple((a, b) for a, b in pairs) for lang, pairs in _TABLES[name].items()}


def _scenario(s: dict[str, Any]) -> Scenario:
    follows = tuple((q, a) for q, a in s["follows"])
    return Scenario(s["detail"], tuple(s["opens"]), tuple(s["resolves"]), follows, s["calm"])


# A product's name is its brand's name and its own (zh: joined directly; en: with a space).
PRODUCTS: tuple[Product, ...] = tuple(
    Product(
        zh=brand["zh"] + p["zh"],
        en=f"{brand['en']} {p['en']}",
        cny=p["cny"],
        usd=p["usd"],
        has_color=p["has_color"],
    )
    for brand in _TABLES["catalogue"]
    for p in brand["products"]
)
COLORS = _words("colors")
CITIES = _words("cities")
# (carrier name, tracking-number pattern): '#' is a digit, '%' an upper-case letter or digit.
CARRIERS: dict[str, tuple[tuple[str, str], ...]] = {
    lang: tuple((c["carrier"], c["tracking"]) for c in carriers)
    for lang, carriers in _TABLES["carriers"].items()
}
PAY_METHODS = _words("pay_methods")
AGENTS = _words("agents")
COMPANIES = _words("companies")
USER_HANDLES: tuple[str, ...] = tuple(_TABLES["user_handles"])
EMAIL_DOMAINS: tuple[str, ...] = tuple(_TABLES["email_domains"])
EMAIL_NAMES = _pairs("email_names")
CN_MOBILE_PREFIXES: tuple[str, ...] = tuple(_TABLES["cn_mobile_prefixes"])
PII_SENTENCES = _words("pii_sentences")
EDIT_SWAPS = _pairs("edit_swaps")
EDIT_PUNCT = _tones("edit_punct")
OPEN_PREFIX = _tones("open_prefix")
OPEN_SUFFIX = _tones("open_suffix")
TAILS = _tones("tails")
AGENT_GREETINGS = _tones("agent_greetings")
USER_CLOSINGS = _tones("user_closings")
AGENT_CLOSINGS = _tones("agent_closings")
PROVIDES = _tones("provides")
TEMPLATES: dict[str, dict[str, IntentText]] = {
    intent: {
        lang: IntentText(tuple(t["asks"]), tuple(_scenario(s) for s in t["scenarios"]))
        for lang, t in by_lang.items()
    }
    for intent, by_lang in _TABLES["templates"].items()
}
