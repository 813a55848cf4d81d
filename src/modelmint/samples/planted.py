"""What the synthetic corpus plants on purpose for the cleaning stages to find: fake PII
appended to customer messages, and near-duplicate copies made by small edits (punctuation,
whitespace, a digit, a word, a typo). The shingle similarity that measures a near-duplicate
also keeps two generated originals from being near-duplicates by accident."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from modelmint.samples.dialogues import Draft, Message, append_sentence
from modelmint.samples.tables import (
    CN_MOBILE_PREFIXES,
    EDIT_PUNCT,
    EDIT_SWAPS,
    EMAIL_DOMAINS,
    EMAIL_NAMES,
    PII_SENTENCES,
)

_NEAR_DUP_MIN_JACCARD = 0.8  # planted near-duplicate vs its original: at least
_ORIGINAL_MAX_JACCARD = 0.7  # two generated originals with the same core: below
_DIGITS = "0123456789"


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


def plant_pii(rng: random.Random, draft: Draft) -> None:
    users = [i for i, m in enumerate(draft.messages) if m["role"] == "user"]
    i = 0 if rng.random() < 0.6 else rng.choice(users)  # mostly in the opening message
    template = rng.choice(PII_SENTENCES[draft.lang])
    email, phone = _fake_email(rng, draft.lang), _fake_phone(rng, draft.lang)
    sentence = template.format(email=email, phone=phone)
    msg = draft.messages[i]
    msg["content"] = append_sentence(draft.lang, msg["content"], sentence)
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


def dialogue_text(messages: Sequence[Message]) -> str:
    return "\n".join(m["content"] for m in messages)


def shingles_of(text: str, k: int = 5) -> set[str]:
    return {text[i : i + k] for i in range(max(1, len(text) - k + 1))}


def _jaccard(a: set[str], b: set[str]) -> float:
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def too_similar(shingles: set[str], others: Sequence[tuple[int, set[str]]]) -> bool:
    """Whether the Jaccard similarity to any of ``others`` (size, shingles) reaches the limit."""
    t, n = _ORIGINAL_MAX_JACCARD, len(shingles)
    for m, other in others:
        if t * n <= m and t * m <= n:  # otherwise the sizes alone keep it below t
            common = len(shingles & other)
            if common >= t * (n + m - common):
                return True
    return False


def near_copy(rng: random.Random, src: Draft, seen: set[tuple[str, ...]]) -> list[Message] | None:
    original = shingles_of(dialogue_text(src.messages))
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
            and _jaccard(original, shingles_of(dialogue_text(messages))) >= _NEAR_DUP_MIN_JACCARD
        ):
            seen.add(key)
            return messages
    return None
