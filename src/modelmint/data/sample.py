"""A seeded generator of a SYNTHETIC bilingual customer-service dialogue corpus.

Everything this module produces is synthetic: the dialogues come from hand-written templates
(:mod:`modelmint.data.sample_templates`) filled with random values. None of it comes from real
customers. The shop, brands, products, order and tracking numbers, usernames, companies, emails
and phone numbers are all made up. Emails use reserved example/test domains; US phone numbers use
the fictional 555 area code; Chinese mobile numbers are random digits.

The corpus is an e-commerce shop's chat log in Simplified Chinese and English (about half each).
Every record has an intent and a sentiment label that match its text, and the customer's sentiment
shows in their wording. It is built for three uses:

* pretraining a small causal LM: fluent, varied texts; the agent answers in the customer's language;
* intent / sentiment classification: labels consistent with the text;
* testing data-cleaning stages: exact duplicates, near-duplicates and fake PII are planted on
  purpose and listed in :class:`SampleTruth`.

Generation uses only ``random.Random(seed)``, so the same seed gives the same corpus byte for byte.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from modelmint.data.sample_templates import (
    AGENT_CLOSINGS,
    AGENT_GREETINGS,
    AGENTS,
    CARRIERS,
    CITIES,
    CN_MOBILE_PREFIXES,
    COLORS,
    COMPANIES,
    EDIT_PUNCT,
    EDIT_SWAPS,
    EMAIL_DOMAINS,
    EMAIL_NAMES,
    OPEN_PREFIX,
    OPEN_SUFFIX,
    PAY_METHODS,
    PII_SENTENCES,
    PRODUCTS,
    PROVIDES,
    TAILS,
    TEMPLATES,
    USER_CLOSINGS,
    USER_HANDLES,
    IntentText,
    Product,
    Scenario,
)

INTENTS: tuple[str, ...] = (
    "order_status",
    "refund",
    "shipping",
    "account",
    "product_question",
    "complaint",
    "payment",
    "cancel_order",
    "return_exchange",
    "invoice",
)
SENTIMENTS: tuple[str, ...] = ("positive", "neutral", "negative")

_INTENT_WEIGHTS = (14, 11, 11, 8, 12, 9, 8, 8, 11, 8)
# (positive, neutral, negative) per intent: complaints are mostly negative and never positive.
_SENTIMENT_WEIGHTS: dict[str, tuple[int, int, int]] = {
    "order_status": (20, 50, 30),
    "refund": (10, 45, 45),
    "shipping": (25, 50, 25),
    "account": (15, 55, 30),
    "product_question": (40, 55, 5),
    "complaint": (0, 15, 85),
    "payment": (15, 50, 35),
    "cancel_order": (10, 60, 30),
    "return_exchange": (15, 50, 35),
    "invoice": (25, 65, 10),
}
_EXACT_DUP_RATE = 0.03
_NEAR_DUP_RATE = 0.03
_PII_RATE = 0.05
_NEAR_DUP_MIN_JACCARD = 0.8  # planted near-duplicate vs its original: at least
_ORIGINAL_MAX_JACCARD = 0.7  # two generated originals with the same core: below

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FIRST_ORDER_DAY = date(2025, 3, 1)
_ORDER_DAY_SPAN = 600
_DIGITS = "0123456789"
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_CN_MOBILE_RUN = re.compile(r"1[3-9]\d{9}")  # keep tracking numbers from looking like phones
_PATTERN_RUN = re.compile(r"#+|%+|[^#%]+")
_ZH_END = "。！？～，：…"

Message = dict[str, str]


@dataclass(frozen=True)
class SampleTruth:
    """What was planted: duplicate pairs as (copy_id, original_id), and fake PII per record id."""

    exact_duplicates: list[tuple[str, str]]
    near_duplicates: list[tuple[str, str]]
    pii: dict[str, list[str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "exact_duplicates": [list(p) for p in self.exact_duplicates],
            "near_duplicates": [list(p) for p in self.near_duplicates],
            "pii": {k: list(v) for k, v in self.pii.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleTruth:
        return cls(
            exact_duplicates=[(str(a), str(b)) for a, b in data["exact_duplicates"]],
            near_duplicates=[(str(a), str(b)) for a, b in data["near_duplicates"]],
            pii={str(k): [str(s) for s in v] for k, v in data["pii"].items()},
        )


@dataclass
class _Draft:
    lang: str
    intent: str
    sentiment: str
    messages: list[Message]
    pii: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Slot values
# --------------------------------------------------------------------------------------------


def _fmt_date(d: date, lang: str) -> str:
    return f"{d.month}月{d.day}日" if lang == "zh" else f"{_MONTHS[d.month - 1]} {d.day}"


def _pattern(rng: random.Random, pattern: str) -> str:
    """Fill a pattern: '#' runs become digits, '%' runs letters or digits, the rest is kept."""
    while True:
        parts = []
        for m in _PATTERN_RUN.finditer(pattern):
            run = m.group()
            if run[0] == "#":
                parts.append(f"{rng.randrange(10 ** len(run)):0{len(run)}d}")
            elif run[0] == "%":
                parts.append("".join(rng.choices(_ALNUM, k=len(run))))
            else:
                parts.append(run)
        out = "".join(parts)
        if not _CN_MOBILE_RUN.search(out):
            return out


class _Slots(dict[str, str]):
    """Slot values for one dialogue; the costlier ones are drawn only if a template uses them."""

    def __init__(self, values: dict[str, str], lazy: dict[str, Callable[[], str]]) -> None:
        super().__init__(values)
        self._lazy = lazy

    def __missing__(self, key: str) -> str:
        value = self[key] = self._lazy[key]()
        return value


def _slots(rng: random.Random, lang: str, product: Product) -> _Slots:
    order_day = _FIRST_ORDER_DAY + timedelta(days=rng.randrange(_ORDER_DAY_SPAN))
    eta = order_day + timedelta(days=rng.randint(3, 8))
    carrier, tracking = rng.choice(CARRIERS[lang])
    color, color2 = rng.sample(COLORS[lang], 2)
    frac = rng.choice((0.05, 0.08, 0.1, 0.15))
    if lang == "zh":
        yuan_sign = rng.random() < 0.5

        def money(v: float) -> str:
            return f"¥{v:.0f}" if yuan_sign else f"{v:.0f}元"

        price: float = product.cny
        diff: float = max(5, round(product.cny * frac))
        coupon_value = rng.choice((5, 10, 20, 30, 50))
        coupon_min = rng.choice((99, 199, 299))

        def tax_id() -> str:
            return "91" + _pattern(rng, "######MA%%%%%%%%")
    else:

        def money(v: float) -> str:
            return f"${v:.2f}"

        price = product.usd
        diff = max(2.0, round(product.usd * frac, 2))
        coupon_value = rng.choice((5, 10, 15, 20))
        coupon_min = rng.choice((50, 75, 100))

        def tax_id() -> str:
            return f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}"

    sep = rng.choice(("", "_", "."))
    values = {
        "order": f"MM{order_day.year}{order_day.month:02d}{order_day.day:02d}-"
        f"{rng.randrange(10000, 100000)}",
        "order_date": _fmt_date(order_day, lang),
        "eta": _fmt_date(eta, lang),
        "product": product.zh if lang == "zh" else product.en,
        "price": money(price),
        "amount": money(price),
        "diff": money(diff),
        "method": rng.choice(PAY_METHODS[lang]),
        "carrier": carrier,
        "city": rng.choice(CITIES[lang]),
        "color": color,
        "color2": color2,
        "days": str(rng.randint(2, 5)),
        "agent": rng.choice(AGENTS[lang]),
        "user": f"{rng.choice(USER_HANDLES)}{sep}{rng.randint(7, 9999)}",
        "points": str(rng.randrange(100, 2000, 10)),
        "coupon": f"MINT{rng.randint(10, 99)}{rng.choice(_ALNUM[:24])}",
        "coupon_value": str(coupon_value),
        "coupon_min": str(coupon_min),
        "company": rng.choice(COMPANIES[lang]),
    }
    return _Slots(values, {"tracking": lambda: _pattern(rng, tracking), "tax_id": tax_id})


# --------------------------------------------------------------------------------------------
# One dialogue
# --------------------------------------------------------------------------------------------


def _join(lang: str, parts: Sequence[str]) -> str:
    return "".join(parts) if lang == "zh" else " ".join(p for p in parts if p)


def _append(lang: str, text: str, extra: str) -> str:
    """Append a sentence to a message, adding a separator if the message has no end mark."""
    if lang == "zh":
        return text + ("" if text[-1] in _ZH_END else "，") + extra
    return text + ("" if text[-1] in ".!?)" else ".") + " " + extra


def _uses_color(sc: Scenario) -> bool:
    texts = [*sc.opens, *sc.resolves, *(q + a for q, a in sc.follows)]
    return any("{color" in t for t in texts)


def _needs_ask(sc: Scenario, opening: str) -> bool:
    return sc.detail is not None and "{" + sc.detail + "}" not in opening


def _candidates(text: IntentText, has_color: bool, allow_ask: bool) -> list[tuple[int, int]]:
    return [
        (si, oi)
        for si, sc in enumerate(text.scenarios)
        if has_color or not _uses_color(sc)
        for oi, opening in enumerate(sc.opens)
        if allow_ask or not _needs_ask(sc, opening)
    ]


def _pick(rng: random.Random, pool: Sequence[str]) -> str:
    return pool[rng.randrange(len(pool))]


def _tail(rng: random.Random, lang: str, sentiment: str, text: str) -> str:
    tails = TAILS[lang][sentiment]
    if not tails or rng.random() < 0.5:
        return text
    return _append(lang, text, _pick(rng, tails))


def _build_dialogue(
    rng: random.Random, lang: str, intent: str, sentiment: str
) -> tuple[list[Message], tuple[int, ...]]:
    """One dialogue, and its core: the scenario, opening, resolution and follow-up templates.

    Only dialogues that share their core come close to being near-duplicates of each other."""
    text = TEMPLATES[intent][lang]
    product = rng.choice(PRODUCTS)
    pairs = rng.choices((1, 2, 3), weights=(3, 5, 2))[0]
    cands = _candidates(text, product.has_color, allow_ask=pairs > 1)
    if not cands:
        pairs = 2
        cands = _candidates(text, product.has_color, allow_ask=True)
    si, oi = rng.choice(cands)
    sc = text.scenarios[si]
    slots = _slots(rng, lang, product)

    # Customer opening: sentiment-bearing prefix and/or suffix around the intent's opening.
    if sentiment == "positive":
        use_prefix, use_suffix = rng.random() < 0.5, True
    elif sentiment == "negative":
        mode = rng.randrange(3)
        use_prefix, use_suffix = mode != 1, mode != 0
    else:
        use_prefix, use_suffix = rng.random() < 0.6, rng.random() < 0.2
    tone = "negative_calm" if sentiment == "negative" and sc.calm else sentiment
    prefix = _pick(rng, OPEN_PREFIX[lang][tone]) if use_prefix else ""
    suffix = _pick(rng, OPEN_SUFFIX[lang][tone]) if use_suffix else ""
    turns: list[tuple[str, str]] = [("user", _join(lang, [prefix, sc.opens[oi], suffix]))]

    greeting = _pick(rng, AGENT_GREETINGS[lang][sentiment])
    ask = _needs_ask(sc, sc.opens[oi])
    ri = rng.randrange(len(sc.resolves))
    if ask:
        assert sc.detail is not None
        turns.append(("assistant", _join(lang, [greeting, _pick(rng, text.asks)])))
        provide = _pick(rng, PROVIDES[lang][sc.detail])
        turns.append(("user", _tail(rng, lang, sentiment, provide)))
        turns.append(("assistant", sc.resolves[ri]))
    else:
        turns.append(("assistant", _join(lang, [greeting, sc.resolves[ri]])))

    extra = pairs - 1 - int(ask)
    follow = bool(sc.follows) and (extra >= 2 or (extra == 1 and rng.random() < 0.45))
    close = extra >= 2 or (extra == 1 and not follow)
    fi = rng.randrange(len(sc.follows)) if follow else -1
    if follow:
        question, answer = sc.follows[fi]
        turns.append(("user", _tail(rng, lang, sentiment, question)))
        turns.append(("assistant", answer))
    if close:
        turns.append(("user", _pick(rng, USER_CLOSINGS[lang][sentiment])))
        turns.append(("assistant", _pick(rng, AGENT_CLOSINGS[lang][sentiment])))
    messages = [{"role": role, "content": tpl.format_map(slots)} for role, tpl in turns]
    return messages, (si, oi, ri, fi)


# --------------------------------------------------------------------------------------------
# Planted fake PII
# --------------------------------------------------------------------------------------------


def _fake_email(rng: random.Random, lang: str) -> str:
    given, family = rng.choice(EMAIL_NAMES[lang])
    local = rng.choice(
        (
            f"{given}.{family}",
            f"{family}.{given}{rng.randint(1, 99)}",
            f"{family}_{given}{rng.randint(70, 99)}",
            f"{given[0]}{family}{rng.randint(1, 999)}",
        )
    )
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def _fake_phone(rng: random.Random, lang: str) -> str:
    if lang == "en" and rng.random() < 0.85:
        mid, last = rng.randint(200, 999), rng.randrange(10000)
        return rng.choice(
            (
                f"+1 (555) {mid}-{last:04d}",
                f"(555) {mid}-{last:04d}",
                f"555-{mid}-{last:04d}",
                f"+1 555 {mid} {last:04d}",
            )
        )
    p, a, b = rng.choice(CN_MOBILE_PREFIXES), rng.randrange(10000), rng.randrange(10000)
    return rng.choice(
        (
            f"{p}{a:04d}{b:04d}",
            f"{p} {a:04d} {b:04d}",
            f"+86 {p}-{a:04d}-{b:04d}",
            f"{p}-{a:04d}-{b:04d}",
            f"+86 {p}{a:04d}{b:04d}",
        )
    )


def _plant_pii(rng: random.Random, draft: _Draft) -> None:
    users = [i for i, m in enumerate(draft.messages) if m["role"] == "user"]
    i = 0 if rng.random() < 0.6 else rng.choice(users)  # mostly in the opening message
    template = rng.choice(PII_SENTENCES[draft.lang])
    email, phone = _fake_email(rng, draft.lang), _fake_phone(rng, draft.lang)
    sentence = template.format(email=email, phone=phone)
    msg = draft.messages[i]
    msg["content"] = _append(draft.lang, msg["content"], sentence)
    found = [
        (sentence.index(s), s)
        for key, s in (("{email}", email), ("{phone}", phone))
        if key in template
    ]
    draft.pii = [s for _, s in sorted(found)]


# --------------------------------------------------------------------------------------------
# Near-duplicate edits
# --------------------------------------------------------------------------------------------

_EN_PUNCT_RE = re.compile(r"(?<=[A-Za-z])[.?!,](?=\s|$)")
_ZH_PARTICLES = re.compile(r"[的了吧呢啊呀]")
_EN_WORD = re.compile(r"[A-Za-z]{5,}")


def _edit_once(rng: random.Random, text: str, lang: str, protected: Sequence[str]) -> str | None:
    """One small edit (punctuation, whitespace, a digit, a word, a typo) outside planted PII."""
    spans = [(m.start(), m.end()) for s in protected for m in re.finditer(re.escape(s), text)]

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in spans)

    op = rng.randrange(5)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) candidates
    if op == 0:  # punctuation
        if lang == "zh":
            edits = [
                (i, i + 1, rng.choice(EDIT_PUNCT["zh"][c]))
                for i, c in enumerate(text)
                if c in EDIT_PUNCT["zh"]
            ]
        else:
            edits = [
                (m.start(), m.end(), rng.choice(EDIT_PUNCT["en"][m.group()]))
                for m in _EN_PUNCT_RE.finditer(text)
            ]
    elif op == 1:  # whitespace
        if lang == "zh":
            edits = [(i, i, " ") for i in range(1, len(text)) if text[i - 1] != " " != text[i]]
        else:
            edits = [(i, i + 1, "  ") for i, c in enumerate(text) if c == " "]
            edits.append((len(text), len(text), " "))
    elif op == 2:  # a number
        edits = [
            (i, i + 1, rng.choice(_DIGITS.replace(c, "")))
            for i, c in enumerate(text)
            if c.isdigit()
        ]
    elif op == 3:  # a word or character
        if lang == "zh":
            edits = [
                (m.start(), m.end(), new)
                for old, new in EDIT_SWAPS["zh"]
                for m in re.finditer(re.escape(old), text)
            ]
        else:
            edits = [
                (m.start(), m.end(), new)
                for pat, new in EDIT_SWAPS["en"]
                for m in re.finditer(pat, text)
            ]
    elif lang == "zh":  # drop a particle
        edits = [(m.start(), m.end(), "") for m in _ZH_PARTICLES.finditer(text)]
    else:  # typo: swap two neighbouring letters
        for m in _EN_WORD.finditer(text):
            j = m.start() + rng.randrange(1, len(m.group()) - 2)
            if text[j] != text[j + 1]:
                edits.append((j, j + 2, text[j + 1] + text[j]))
    edits = [e for e in edits if free(e[0], max(e[1], e[0] + 1))]
    if not edits:
        return None
    start, end, new = rng.choice(edits)
    return text[:start] + new + text[end:]


def _dialogue_text(messages: Sequence[Message]) -> str:
    return "\n".join(m["content"] for m in messages)


def _shingles(text: str, k: int = 5) -> set[str]:
    return {text[i : i + k] for i in range(max(1, len(text) - k + 1))}


def _jaccard(a: set[str], b: set[str]) -> float:
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def _too_similar(shingles: set[str], others: Sequence[tuple[int, set[str]]]) -> bool:
    """Whether the Jaccard similarity to any of ``others`` (size, shingles) reaches the limit."""
    t, n = _ORIGINAL_MAX_JACCARD, len(shingles)
    for m, other in others:
        if t * n <= m and t * m <= n:  # otherwise the sizes alone keep it below t
            common = len(shingles & other)
            if common >= t * (n + m - common):
                return True
    return False


def _near_copy(rng: random.Random, src: _Draft, seen: set[tuple[str, ...]]) -> list[Message] | None:
    original = _shingles(_dialogue_text(src.messages))
    for _ in range(40):
        messages = [dict(m) for m in src.messages]
        for _ in range(rng.choice((1, 1, 2))):
            users = [i for i, m in enumerate(messages) if m["role"] == "user"]
            i = rng.choice(users) if rng.random() < 0.7 else rng.randrange(len(messages))
            edited = _edit_once(rng, messages[i]["content"], src.lang, src.pii)
            if edited:
                messages[i]["content"] = edited
        key = tuple(m["content"] for m in messages)
        user_text = "\n".join(m["content"] for m in messages if m["role"] == "user")
        if (
            key not in seen
            and all(s in user_text for s in src.pii)
            and _jaccard(original, _shingles(_dialogue_text(messages))) >= _NEAR_DUP_MIN_JACCARD
        ):
            seen.add(key)
            return messages
    return None


# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------


def _originals(rng: random.Random, n: int) -> list[_Draft]:
    """Distinct dialogues, no two of which are near-duplicates by accident.

    A dialogue is redrawn while it is too similar to an earlier one with the same core; dialogues
    with different cores differ in long template texts and stay well below the planted range."""
    langs = ["zh"] * (n // 2) + ["en"] * (n - n // 2)
    rng.shuffle(langs)
    intents = list(INTENTS[:n]) + rng.choices(INTENTS, _INTENT_WEIGHTS, k=max(0, n - len(INTENTS)))
    by_core: dict[tuple[Any, ...], list[tuple[int, set[str]]]] = {}
    drafts = []
    for lang, intent in zip(langs, intents, strict=True):
        sentiment = rng.choices(SENTIMENTS, _SENTIMENT_WEIGHTS[intent])[0]
        for _ in range(50):
            messages, core = _build_dialogue(rng, lang, intent, sentiment)
            shingles = _shingles(_dialogue_text(messages))
            similar = by_core.setdefault((lang, intent, *core), [])
            if not _too_similar(shingles, similar):
                break
        similar.append((len(shingles), shingles))
        drafts.append(_Draft(lang, intent, sentiment, messages))
    return drafts


def generate_sample_corpus(
    n_dialogues: int = 6000, seed: int = 0
) -> tuple[list[dict[str, Any]], SampleTruth]:
    """Generate ``n_dialogues`` records (planted copies included) and the truth about them."""
    if n_dialogues < 0:
        raise ValueError("n_dialogues must be >= 0")
    rng = random.Random(seed)
    n_exact = round(n_dialogues * _EXACT_DUP_RATE)
    n_near = round(n_dialogues * _NEAR_DUP_RATE)
    n_orig = n_dialogues - n_exact - n_near
    drafts = _originals(rng, n_orig)
    for i in sorted(rng.sample(range(n_orig), round(n_orig * _PII_RATE))):
        _plant_pii(rng, drafts[i])

    seen = {tuple(m["content"] for m in d.messages) for d in drafts}
    sources = rng.sample(range(n_orig), n_exact + n_near)
    copies: list[tuple[int, int, str]] = []  # (copy index, source index, kind)
    for k, s in enumerate(sources):
        src = drafts[s]
        near = _near_copy(rng, src, seen) if k >= n_exact else None
        kind = "near" if near is not None else "exact"
        messages = near if near is not None else [dict(m) for m in src.messages]
        copies.append((len(drafts), s, kind))
        drafts.append(_Draft(src.lang, src.intent, src.sentiment, messages, list(src.pii)))

    order = list(range(len(drafts)))
    position = order
    for _ in range(200):  # shuffle until no copy sits next to its original
        rng.shuffle(order)
        position = [0] * len(drafts)
        for p, d in enumerate(order):
            position[d] = p
        if all(abs(position[c] - position[s]) > 1 for c, s, _ in copies):
            break
    width = max(6, len(str(n_dialogues)))
    ids = [f"d{position[d] + 1:0{width}d}" for d in range(len(drafts))]

    records = []
    for d in order:
        dr = drafts[d]
        records.append(
            {
                "id": ids[d],
                "lang": dr.lang,
                "intent": dr.intent,
                "sentiment": dr.sentiment,
                "messages": [dict(m) for m in dr.messages],
            }
        )
    truth = SampleTruth(
        exact_duplicates=sorted((ids[c], ids[s]) for c, s, kind in copies if kind == "exact"),
        near_duplicates=sorted((ids[c], ids[s]) for c, s, kind in copies if kind == "near"),
        pii={ids[d]: list(drafts[d].pii) for d in order if drafts[d].pii},
    )
    return records, truth


def write_sample_corpus(path: Path, n_dialogues: int = 6000, seed: int = 0) -> SampleTruth:
    """Writes JSONL (UTF-8, ensure_ascii=False, one record per line) to `path` and the truth as
    JSON next to it at path.with_suffix('.truth.json'). Creates parent dirs."""
    path = Path(path)
    records, truth = generate_sample_corpus(n_dialogues, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    with path.with_suffix(".truth.json").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(truth.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return truth
