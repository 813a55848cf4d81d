"""One synthetic customer-service dialogue: its slot values (order number, dates, prices,
carrier, ...) and its turns, drawn from the template tables (:mod:`modelmint.samples.tables`).

A dialogue is the customer's opening, the agent's answer (after asking for a missing order
number or username), maybe a follow-up question and maybe closing words. Its core (scenario,
opening, resolution and follow-up) is returned with it: only dialogues that share their core
come close to being near-duplicates of each other."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from modelmint.samples.tables import (
    AGENT_CLOSINGS,
    AGENT_GREETINGS,
    AGENTS,
    CARRIERS,
    CITIES,
    COLORS,
    COMPANIES,
    OPEN_PREFIX,
    OPEN_SUFFIX,
    PAY_METHODS,
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

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FIRST_ORDER_DAY = date(2025, 3, 1)
_ORDER_DAY_SPAN = 600
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_CN_MOBILE_RUN = re.compile(r"1[3-9]\d{9}")  # keep tracking numbers from looking like phones
_PATTERN_RUN = re.compile(r"#+|%+|[^#%]+")
_ZH_END = "。！？～，：…"

Message = dict[str, str]


@dataclass
class Draft:
    """A dialogue on its way into the corpus, with the fake PII planted in it, if any."""

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


def append_sentence(lang: str, text: str, extra: str) -> str:
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
    return append_sentence(lang, text, _pick(rng, tails))


def build_dialogue(
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
