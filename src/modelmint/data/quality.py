"""Heuristic quality filters for Simplified Chinese and English text.

Ports three well-known rule sets, with the thresholds of their papers available through
:meth:`QualityConfig.web`:

* **Gopher quality** (Rae et al. 2021, table A1; as in datatrove's ``GopherQualityFilter``):
  document length in words, mean word length, ``#`` and ellipsis to word ratios, share of
  bullet lines and of lines ending in an ellipsis, share of words with a letter, and a
  minimum number of stop words.
* **Gopher repetition** (as in datatrove's ``GopherRepetitionFilter``): fraction of duplicate
  lines and paragraphs (by count and by characters), the share of characters in the most
  frequent 2-, 3-, 4-gram and in repeated 5- to 10-grams.
* **C4** (Raffel et al. 2020; as in datatrove's ``C4QualityFilter``): keeps only lines that end
  in terminal punctuation, have enough words and mention neither "javascript" nor a cookie or
  terms-of-use policy; drops pages with "lorem ipsum" or a curly bracket, and pages left with
  too few lines or sentences. Unlike the other rules it *edits* the text (removes lines), so
  :class:`QualityVerdict` carries the text back.
* **Length**: minimum and maximum characters.

Adapted for Chinese, which has no spaces between words. Every rule that counts words counts
each Han (or kana) character as one word and each run of letters or digits as one word, so a
200-character Chinese paragraph is ~200 words, not one. What follows from that:

* mean word length is measured on Latin words only, and only where they are most of the words
  (a Han character is one character long by construction, which would fail Gopher's 3-10 range);
* the stop-word rule uses a list of frequent Chinese function characters for ``zh``;
* n-grams for the repetition rules are n-grams of those words, so of characters in Chinese;
* C4 accepts Chinese sentence ends (。！？, ……, closing quotes) as terminal punctuation and
  counts a line's words the same CJK-aware way.

Every rule takes time linear in the length of the document, which may be a million
characters (``max_chars``). The word and n-gram rules are single passes; a regex that scans a
run of characters (C4's sentence ends) starts only where the run starts and never gives back
what it consumed, so no input makes it rescan the run from each of its characters, and it
finds the same matches as the plain backtracking regex.

The default config suits short documents such as customer-service chats as well as web text:
the thresholds that only make sense for long pages (50 words, 5 sentences, 3 words a line, and
n-gram statistics on documents under 150 words) are relaxed; :meth:`QualityConfig.web` restores
them. Everything else is Gopher's and C4's, and on English text the rules give datatrove's
verdicts when datatrove is given the same words (except that stop words here ignore case and
a few more bullet characters count).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from itertools import accumulate, pairwise

# Han ideographs (URO, extension A, compatibility, extensions B+) and Japanese kana: scripts
# written without spaces, where one character is the nearest thing to a word.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A word: one CJK character, or a run of letters/digits that may be joined by an apostrophe,
# hyphen, dot or comma (don't, e-mail, 19.99, MM20260613-79313), like a whitespace-split word
# with its surrounding punctuation removed.
_WORD_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+(?:[-.,'’][^\W{_CJK}]+)*")
_CJK_RE = re.compile(rf"[{_CJK}]")
_NO_LETTER_WORD_RE = re.compile(r"(?<!\S)[\d_\-.,'’]+(?!\S)")
_ELLIPSIS_RE = re.compile(r"\.\.\.|…+")  # Chinese "……" is one ellipsis, not two
_PARAGRAPH_RE = re.compile(r"\n{2,}")
_LINES_RE = re.compile(r"\n+")
_CITATION_RE = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
# A sentence end is tried only where a run of end marks starts (the lookbehind), and the
# possessive quantifiers keep the whole run: a shorter one is followed by another mark, never
# by the space, end or Han character the lookahead wants, so the matches are the same, found
# in linear time. Without the two, each mark of a long run ("!!!…!x") rescanned the rest of
# the run: 40,000 marks took 45 s, a million would take hours.
_END_MARKS = ".!?。！？…"
_SENTENCE_END_RE = re.compile(
    rf"(?<![{_END_MARKS}])[{_END_MARKS}]++[\"'”’」』)]*+(?=\s|$|[{_CJK}])"
)

# Gopher's English stop words, and the most frequent Chinese function characters in their role.
EN_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
ZH_STOP_WORDS = tuple("的了是在我有和就不人都一也很到要这你会着没他们吗呢吧个上")
_BULLETS = ("•", "-", "*", "·", "●", "▪", "◦", "‣", "►")
# C4 keeps lines ending like this; 。！？ and closing quotes end Chinese sentences, and a
# trailing ～ ends informal Chinese ones as often as 。 does.
_TERMINAL = (".", "!", "?", '"', "'", "。", "！", "？", "”", "’", "」", "』", "～")
_POLICY = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
    "隐私政策",
    "使用条款",
    "服务条款",
)


@dataclass(frozen=True)
class QualityConfig:
    """Every threshold of every rule; ``None`` (or 0) switches a single rule off."""

    gopher_quality: bool = True
    gopher_repetition: bool = True
    c4: bool = True
    length: bool = True
    # length (characters, after stripping)
    min_chars: int | None = 20
    max_chars: int | None = 1_000_000
    # Gopher quality
    min_doc_words: int | None = 5
    max_doc_words: int | None = 100_000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2
    en_stop_words: tuple[str, ...] = EN_STOP_WORDS
    zh_stop_words: tuple[str, ...] = ZH_STOP_WORDS
    # Gopher repetition
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    top_n_grams: tuple[tuple[int, float], ...] = ((2, 0.2), (3, 0.18), (4, 0.16))
    dup_n_grams: tuple[tuple[int, float], ...] = (
        (5, 0.15),
        (6, 0.14),
        (7, 0.13),
        (8, 0.12),
        (9, 0.11),
        (10, 0.10),
    )
    # Gopher only measured n-grams on pages of 50+ words. In a short chat one repeat (the agent
    # echoing an order number or a product name) is already 20-30% of the characters: on the
    # sample corpus a third of the Chinese chats under 150 words (~90 words of Chinese, since
    # each Han character counts) failed. Shorter documents skip the two n-gram rules; the
    # duplicate line and paragraph rules still apply.
    ngram_min_words: int | None = 150
    # C4 (line rules remove lines; the others drop the document)
    c4_terminal_punct: bool = True
    c4_min_words_per_line: int | None = 1
    c4_max_word_length: int | None = 1000
    c4_remove_citations: bool = True
    c4_javascript: bool = True
    c4_policy: bool = True
    c4_lorem_ipsum: bool = True
    c4_curly_bracket: bool = True
    c4_min_lines: int | None = 1
    c4_min_sentences: int | None = None

    @classmethod
    def web(cls) -> QualityConfig:
        """Gopher's and C4's original thresholds, for web-scale pages."""
        return replace(
            cls(),
            min_chars=None,
            min_doc_words=50,
            ngram_min_words=None,
            c4_min_words_per_line=3,
            c4_min_sentences=5,
        )


@dataclass(frozen=True)
class QualityVerdict:
    text: str  # the text as the C4 line rules left it
    reason: str | None  # None: keep; otherwise one of QualityFilter.rule_names()


_RULES = {
    "length": ("too_short", "too_long"),
    "gopher_repetition": (
        "gopher_dup_para_frac",
        "gopher_dup_para_char_frac",
        "gopher_dup_line_frac",
        "gopher_dup_line_char_frac",
        "gopher_top_ngram",
        "gopher_dup_ngram",
    ),
    "gopher_quality": (
        "gopher_short_doc",
        "gopher_long_doc",
        "gopher_below_avg_word_length",
        "gopher_above_avg_word_length",
        "gopher_too_many_hashes",
        "gopher_too_many_ellipsis",
        "gopher_too_many_bullets",
        "gopher_too_many_end_ellipsis",
        "gopher_below_alpha_ratio",
        "gopher_below_stop_words",
    ),
    "c4": ("c4_lorem_ipsum", "c4_curly_bracket", "c4_too_few_lines", "c4_too_few_sentences"),
}


def words(text: str) -> list[str]:
    """The words of ``text``: each CJK character is one, each run of letters or digits is one."""
    return _WORD_RE.findall(text)


def _is_cjk(word: str) -> bool:
    return len(word) == 1 and _CJK_RE.match(word) is not None


class QualityFilter:
    """Applies the rule groups in the order FineWeb does: length, Gopher repetition, Gopher
    quality, then C4 (which edits the text, so it runs on what the others have accepted)."""

    def __init__(self, config: QualityConfig = QualityConfig()) -> None:
        self.config = config
        self._stop_words = {
            "en": frozenset(config.en_stop_words),
            "zh": frozenset(config.zh_stop_words),
        }

    @staticmethod
    def rule_names() -> list[str]:
        return [name for names in _RULES.values() for name in names]

    def check(self, text: str, lang: str | None = None) -> QualityVerdict:
        """Judge one document. ``lang`` picks the stop-word list ("zh", "en"; a region suffix
        such as "zh-CN" is ignored); when it is None the script decides, and languages without
        a list skip the stop-word rule."""
        c = self.config
        reason = None
        if c.length:
            reason = self.check_length(text)
        if reason is None and (c.gopher_repetition or c.gopher_quality):
            ws = words(text)
            if c.gopher_repetition:
                reason = self._repetition(text, ws)
            if reason is None and c.gopher_quality:
                reason = self._gopher(text, ws, lang)
        if reason is None and c.c4:
            text, reason = self._c4(text)
        return QualityVerdict(text, reason)

    # length --------------------------------------------------------------------------------
    def check_length(self, text: str) -> str | None:
        """The length rule alone (None if it is off or passes): it needs no language, so a
        pipeline can run it before language identification and spare that an over-long
        document."""
        if not self.config.length:
            return None
        n = len(text.strip())
        if self.config.min_chars and n < self.config.min_chars:
            return "too_short"
        if self.config.max_chars and n > self.config.max_chars:
            return "too_long"
        return None

    # Gopher repetition ---------------------------------------------------------------------
    def _repetition(self, text: str, ws: list[str]) -> str | None:
        c = self.config
        n_chars = len(text) or 1
        paragraphs = _PARAGRAPH_RE.split(text.strip())
        dups, dup_chars = _duplicates(paragraphs)
        if c.dup_para_frac and dups / len(paragraphs) > c.dup_para_frac:
            return "gopher_dup_para_frac"
        if c.dup_para_char_frac and dup_chars / n_chars > c.dup_para_char_frac:
            return "gopher_dup_para_char_frac"
        lines = _LINES_RE.split(text)
        dups, dup_chars = _duplicates(lines)
        if c.dup_line_frac and dups / len(lines) > c.dup_line_frac:
            return "gopher_dup_line_frac"
        if c.dup_line_char_frac and dup_chars / n_chars > c.dup_line_char_frac:
            return "gopher_dup_line_char_frac"
        if c.ngram_min_words and len(ws) < c.ngram_min_words:
            return None
        ends = [0, *accumulate(len(w) for w in ws)]  # chars of ws[i:j] = ends[j] - ends[i]
        for n, frac in c.top_n_grams:
            if _top_ngram_chars(ws, n) / n_chars > frac:
                return "gopher_top_ngram"
        for n, frac in c.dup_n_grams:
            if _dup_ngram_chars(ws, ends, n) / n_chars > frac:
                return "gopher_dup_ngram"
        return None

    # Gopher quality ------------------------------------------------------------------------
    def _gopher(self, text: str, ws: list[str], lang: str | None) -> str | None:
        c = self.config
        n = len(ws)
        if c.min_doc_words and n < c.min_doc_words:
            return "gopher_short_doc"
        if c.max_doc_words and n > c.max_doc_words:
            return "gopher_long_doc"
        if n == 0:
            return None  # nothing below can be measured, and the length rule is switched off
        latin = [w for w in ws if not _is_cjk(w)]
        if len(latin) * 2 >= n:  # mostly Latin: a Han character would count as length 1
            mean = sum(map(len, latin)) / len(latin)
            if c.min_avg_word_length and mean < c.min_avg_word_length:
                return "gopher_below_avg_word_length"
            if c.max_avg_word_length and mean > c.max_avg_word_length:
                return "gopher_above_avg_word_length"
        if c.max_symbol_word_ratio:
            if text.count("#") / n > c.max_symbol_word_ratio:
                return "gopher_too_many_hashes"
            if len(_ELLIPSIS_RE.findall(text)) / n > c.max_symbol_word_ratio:
                return "gopher_too_many_ellipsis"
        lines = text.splitlines() or [""]
        if c.max_bullet_lines_ratio:
            bullets = sum(line.lstrip().startswith(_BULLETS) for line in lines)
            if bullets / len(lines) > c.max_bullet_lines_ratio:
                return "gopher_too_many_bullets"
        if c.max_ellipsis_lines_ratio:
            trailing = sum(line.rstrip().endswith(("...", "…")) for line in lines)
            if trailing / len(lines) > c.max_ellipsis_lines_ratio:
                return "gopher_too_many_end_ellipsis"
        if c.min_alpha_words_ratio:
            # Words with no letter are runs of digits and joiners; counting them with one regex
            # over the joined words is C work instead of a Python loop per character.
            alpha = n - len(_NO_LETTER_WORD_RE.findall(" ".join(ws)))
            if alpha / n < c.min_alpha_words_ratio:
                return "gopher_below_alpha_ratio"
        if c.min_stop_words:
            stop_words = self._stop_words.get(_lang_of(lang, latin, n))
            if stop_words is not None:
                found = stop_words.intersection(w.lower() for w in ws)
                if len(found) < c.min_stop_words:
                    return "gopher_below_stop_words"
        return None

    # C4 ------------------------------------------------------------------------------------
    def _c4(self, text: str) -> tuple[str, str | None]:
        c = self.config
        kept: list[str] = []
        sentences = 0
        for raw in text.splitlines():
            line = raw.strip()
            ws = words(line)
            if c.c4_max_word_length and any(len(w) > c.c4_max_word_length for w in ws):
                continue
            if c.c4_remove_citations:
                line = _CITATION_RE.sub("", line)
            if c.c4_terminal_punct and not _ends_sentence(line):
                continue
            if c.c4_min_words_per_line and len(ws) < c.c4_min_words_per_line:
                continue
            lower = line.lower()
            if c.c4_lorem_ipsum and "lorem ipsum" in lower:
                return text, "c4_lorem_ipsum"
            if c.c4_javascript and "javascript" in lower:
                continue
            if c.c4_curly_bracket and "{" in line:
                return text, "c4_curly_bracket"
            if c.c4_policy and any(p in lower for p in _POLICY):
                continue
            sentences += max(1, len(_SENTENCE_END_RE.findall(line)))
            kept.append(line)
        out = "\n".join(kept).strip()
        if c.c4_min_lines and len(kept) < c.c4_min_lines:
            return out, "c4_too_few_lines"
        if c.c4_min_sentences and sentences < c.c4_min_sentences:
            return out, "c4_too_few_sentences"
        return out, None


def _lang_of(lang: str | None, latin: list[str], n_words: int) -> str:
    if lang:
        return lang.split("-")[0].split("_")[0].lower()
    return "en" if len(latin) * 2 >= n_words else "zh"


def _ends_sentence(line: str) -> bool:
    """C4's terminal punctuation, CJK-aware. An ellipsis after Latin text marks a truncated
    teaser and is dropped, as in C4; after a Chinese character ("……", "…") it ends a sentence."""
    if line.endswith(("...", "…")):
        stem = line.rstrip(".…")
        return bool(stem) and _CJK_RE.match(stem[-1]) is not None
    return line.endswith(_TERMINAL)


def _duplicates(items: list[str]) -> tuple[int, int]:
    """How many items repeat an earlier one, and how many characters those repeats hold."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def _top_ngram_chars(ws: list[str], n: int) -> int:
    """Characters covered by all occurrences of the most frequent n-gram, written as text: with
    a space between two Latin words (as datatrove counts them), none next to a CJK character."""
    if len(ws) < n:
        return 0
    # zip builds the n-gram tuples in C: several times faster than slicing in a loop.
    counts = Counter(zip(*(ws[k:] for k in range(n)), strict=False))
    gram, count = counts.most_common(1)[0]
    spaces = sum(not (_is_cjk(a) or _is_cjk(b)) for a, b in pairwise(gram))
    return count * (sum(map(len, gram)) + spaces)


def _dup_ngram_chars(ws: list[str], ends: list[int], n: int) -> int:
    """Characters inside n-grams that repeat an earlier n-gram, each counted once (Gopher)."""
    seen: set[tuple[str, ...]] = set()
    grams = list(zip(*(ws[k:] for k in range(n)), strict=False))
    if len(set(grams)) == len(grams):  # the common case, decided in C: nothing repeats
        return 0
    chars = i = 0
    while i < len(grams):
        gram = grams[i]
        if gram in seen:
            chars += ends[i + n] - ends[i]
            i += n
        else:
            seen.add(gram)
            i += 1
    return chars
