"""Language identification with py3langid, whose model ships inside its wheel.

Chosen by measurement (``benchmarks/langid_choice.py``) over langid.py and lingua: all three
label the sample corpus perfectly, but py3langid does best on short strings, is several
times faster than either, and its model is a fraction of lingua's size and quick to load
(figures in docs/benchmarks.md, "Language detector choice").

Two adjustments make it fit bilingual customer text:

* py3langid tells Mandarin (``zh``) from Cantonese (``yue``) and Wu (``wuu``). ISO 639-1 has one
  code, ``zh``, for all of them, and a short Mandarin greeting ("你好") often scores as
  Cantonese, so their probabilities are added up under ``zh``. In the same way, a keep-list
  that asks for English adds up English and Nigerian Pidgin (``pcm``), whose words are
  English's: a short English question often scores as both.
* Codes, numbers, e-mail addresses and URLs carry no language, so they are removed before
  classifying; and Chinese text whose Latin part is only names ("Apple iPhone 15 Pro Max 退货")
  is Chinese, even when the names outweigh the Chinese characters. Latin text counts as English
  prose, not names, once it has two English function words ("My name is 张伟 and ...").

Codes are ISO 639-1 where the language has one, else ISO 639-3 (py3langid knows ~140 languages);
``zxx`` means no linguistic content and ``und`` no letters at all.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

_CHINESE = frozenset({"zh", "yue", "wuu"})  # py3langid labels under the ISO 639-1 "zh"
# py3langid's creoles whose words are English's: Nigerian Pidgin alone (Haitian, Guadeloupean
# and Guianese Creole, its others, are French-lexified). The model tells Pidgin from English
# by a few words of its own (wetin, dey, abeg), and a short English question has none of
# them, so the two share its probability: "how do I return it" is English 0.48 and Pidgin
# 0.23, under the 0.5 either needs, and "how do I pay for it" Pidgin 0.54, English 0.43. Like
# Cantonese under Chinese, their probability counts as English's where the keep-list asks for
# English; a record in Pidgin, written in English's words, is then kept as English too. A
# keep-list that names the creole itself wants it told apart, and gets it.
_ENGLISH_CREOLES = frozenset({"pcm"})
# Tokens that carry no language: anything Latin-alphanumeric with a digit in it (order and
# tracking numbers, prices, dates, model numbers), e-mail addresses and URLs.
# Linear in the text: the lookbehinds start an e-mail or a code only where a run of its
# characters starts, and the possessive ``++``/``*+`` never give back what they consumed.
# Without them every character of a long run restarted a scan of the rest of the run for an
# "@" or a digit: 40,000 letters took 20 s, a million would take hours.
_CODE_CHAR = "A-Za-z0-9_./#:+-"
_NOISE_RE = re.compile(
    r"https?://\S+|www\.\S+"
    r"|(?<![\w.+-])[\w.+-]++@[\w-]++\.[\w.-]+"
    rf"|(?<![{_CODE_CHAR}])[A-Za-z_./#:+-]*+\d[{_CODE_CHAR}]*+"
)
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_KANA_HANGUL_RE = re.compile(r"[\u3040-\u30ff\u3130-\u318f\uac00-\ud7af]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_EN_FUNCTION_WORDS = frozenset(
    (
        *("a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with"),
        *("from", "by", "as", "is", "are", "was", "were", "be", "been", "am", "do", "does"),
        *("did", "have", "has", "had", "i", "you", "he", "she", "it", "we", "they", "me", "my"),
        *("your", "his", "her", "its", "our", "their", "this", "that", "these", "those"),
        *("what", "which", "who", "can", "could", "will", "would", "should", "please", "not"),
    )
)


# Unicode normalization (py3langid applies NFC; de-duplication keys apply NFKC) puts each run
# of non-starters (combining marks) in canonical order with an insertion sort in CPython:
# quadratic in the run. 40,000 marks of two alternating classes took 1.7 s, and 6 s where
# every other mark was a half-width katakana sound mark (U+FF9E, a starter that decomposes to
# one); a million would take an hour. The stream-safe format of Unicode (UAX #15) caps such
# runs at 30 non-starters for the same reason; no script needs more, so what follows the 30th
# carries nothing a language guess or a duplicate key needs.
MAX_COMBINING_RUN = 30


def _starts_with_non_starter(c: str) -> bool:
    """A non-starter, or a character whose decomposition starts with one (U+FF9E -> U+3099):
    either extends a run of non-starters once the text is normalized."""
    if unicodedata.combining(c):
        return True
    if not unicodedata.decomposition(c):
        return False
    return any(unicodedata.combining(unicodedata.normalize(f, c)[0]) for f in ("NFD", "NFKD"))


def _char_class(code_points: list[int]) -> str:
    ranges, start = [], code_points[0]
    for prev, cp in zip(code_points, [*code_points[1:], -1], strict=True):
        if cp != prev + 1:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
            start = cp
    return f"[{''.join(ranges)}]"


@cache
def _combining_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(a character that may start or extend a run, possibly a false alarm: cheap to search
    for; a run of more than MAX_COMBINING_RUN, the first MAX_COMBINING_RUN in group 1). Built
    from this Python's Unicode tables once per process."""
    found = [cp for cp in range(sys.maxunicode + 1) if _starts_with_non_starter(chr(cp))]
    # A class of only BMP characters compiles to a bitmap, tested in one step per character;
    # one with astral characters is a list of ranges, tried one by one. So the quick search
    # asks for the BMP ones or any astral character at all.
    bmp = _char_class([cp for cp in found if cp <= 0xFFFF])
    maybe = re.compile(f"{bmp}|[\U00010000-\U0010ffff]")
    every = _char_class(found)
    return maybe, re.compile(f"({every}{{{MAX_COMBINING_RUN}}}){every}+")


def cap_combining_runs(text: str) -> str:
    """``text`` with every run of non-starters cut to its first MAX_COMBINING_RUN, so that
    normalizing it takes linear time. Each try of the pattern reads at most 31 characters
    before it fails, and a run it matches it consumes whole, so this is linear too."""
    maybe, long_run = _combining_patterns()
    if text.isascii() or maybe.search(text) is None:
        return text
    return long_run.sub(r"\1", text)


@dataclass(frozen=True)
class LanguageGuess:
    lang: str  # ISO 639-1 code ("zh" for any Chinese), ISO 639-3 if none, "und" if no text
    confidence: float  # probability of ``lang`` under the model, 0..1


@cache
def _identifier() -> Any:
    # Loaded once per process (it takes a moment); the identifier is read-only, so sharing
    # it is safe.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _scores(text: str, creoles_as_english: bool = False) -> dict[str, float]:
    merged: dict[str, float] = {}
    for lang, p in _identifier().rank(text):
        if lang in _CHINESE:
            key = "zh"
        elif creoles_as_english and lang in _ENGLISH_CREOLES:
            key = "en"
        else:
            key = lang
        merged[key] = merged.get(key, 0.0) + p
    return merged


def _chinese_with_latin_names(text: str) -> bool:
    """Han characters (and no kana or hangul, which would make it Japanese or Korean), with a
    Latin part that is names rather than English sentences."""
    if len(_HAN_RE.findall(text)) < 2 or _KANA_HANGUL_RE.search(text):
        return False
    latin = (w.lower() for w in _LATIN_WORD_RE.findall(text))
    return sum(w in _EN_FUNCTION_WORDS for w in latin) < 2


def detect_language(text: str, *, creoles_as_english: bool = False) -> LanguageGuess:
    """The most likely language of ``text``, with the model's probability for it.
    ``creoles_as_english`` counts English-lexified creoles (Nigerian Pidgin) as English."""
    clean = _NOISE_RE.sub(" ", cap_combining_runs(text))
    if not any(ch.isalpha() for ch in clean):
        return LanguageGuess("und", 0.0)
    scores = _scores(clean, creoles_as_english)
    lang = max(scores, key=scores.__getitem__)
    if lang != "zh" and _chinese_with_latin_names(clean):
        # The confidence is how Chinese the Han characters alone are.
        return LanguageGuess("zh", _scores("".join(_HAN_RE.findall(clean)))["zh"])
    return LanguageGuess(lang, scores[lang])


class LanguageFilter:
    """Keeps documents in the listed languages that the model is confident about."""

    def __init__(
        self, keep: Sequence[str] | None = ("zh", "en"), min_confidence: float = 0.5
    ) -> None:
        self.keep = frozenset(keep) if keep is not None else None
        self.min_confidence = min_confidence
        # Without a keep-list every language is kept under its own code, Pidgin's too.
        self._creoles_as_english = (
            self.keep is not None and "en" in self.keep and not self.keep & _ENGLISH_CREOLES
        )
        _identifier()  # load the model now, not inside the first document's timing

    def check(self, text: str) -> tuple[LanguageGuess, str | None]:
        """The guess, and None to keep or a reason: ``lang_low_confidence`` or
        ``lang_not_kept:<code>``."""
        guess = detect_language(text, creoles_as_english=self._creoles_as_english)
        if guess.confidence < self.min_confidence:
            return guess, "lang_low_confidence"
        if self.keep is not None and guess.lang not in self.keep:
            return guess, f"lang_not_kept:{guess.lang}"
        return guess, None
