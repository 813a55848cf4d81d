"""Heuristic quality filters for Simplified Chinese and English text.

Two presets. :meth:`QualityConfig.web` is three well-known rule sets with the thresholds of
their papers, for web-scale pages. The defaults are for a company's own records (tickets,
chat messages and logs, e-mails, FAQ answers, product descriptions), most of them a line or
a paragraph long: they keep the rules of those sets that judge such a record fairly, relax or
switch off those that need a page, and add three rules of modelmint's own for the junk the
page rules caught. ``tests/data/quality_eval/`` holds the records both presets are measured on.

The ported rule sets:

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

Adapted for short records, in the default preset (each threshold's reason is beside it in
:class:`QualityConfig`):

* C4's line rules are off, and the default edits no text. They drop every line without a
  final full stop or question mark, which is how people type tickets and chat messages, and
  every line that mentions a privacy policy, which is how a customer asks to have their data
  deleted. C4's two document rules, lorem ipsum and curly brackets, stay on.
* Gopher's page statistics wait for a page: the stop-word rule for 50 words (its own minimum
  document length) and the n-gram rules for 150; telegraphic records ("退款进度查询",
  "payment failed twice") have no stop words, and an echoed order number is a third of a
  short chat. The bullet and trailing-ellipsis rules are off (a bulleted product description
  is content, a trailing "……" is a tone of voice), and the remaining ratios are relaxed for
  a ticket whose "#12345", price and date are a large part of its few words.
* A document is three words or more (three characters, before language identification), not
  fifty: "怎么退货" and "where is my package" are kept, "ok", "嗯" and "ok thanks" are not.
* The record rules catch what the page rules caught on short records: words repeated in a
  short record (``few_unique_words``: "哈哈哈哈", "help help help"), Latin letters with
  almost no vowels (``few_vowels``: keyboard mashing such as "sdfkjh sdkfjh"; a record
  written only in consonant abbreviations such as "pls chk my pkg thx" goes too), and a
  record whose every line is boilerplate (``boilerplate``: a cookie or JavaScript notice, a
  copyright footer, an e-mail disclaimer, a bar of links).

Every rule takes time linear in the length of the document, which may be a million
characters (``max_chars``). The word and n-gram rules are single passes; a regex that scans a
run of characters (C4's sentence ends) starts only where the run starts and never gives back
what it consumed, so no input makes it rescan the run from each of its characters, and it
finds the same matches as the plain backtracking regex.

Under :meth:`QualityConfig.web` the rules give datatrove's verdicts on English text when
datatrove is given the same words (except that stop words here ignore case and a few more
bullet characters count). The thresholds, the presets and changing a setting by name are
:mod:`modelmint.data.quality_config`'s.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate, pairwise

from modelmint.data import quality_config
from modelmint.data.quality_config import QualityConfig
from modelmint.data.words import CJK, is_cjk, words

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
_SENTENCE_END_RE = re.compile(rf"(?<![{_END_MARKS}])[{_END_MARKS}]++[\"'”’」』)]*+(?=\s|$|[{CJK}])")

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


# A line of boilerplate says one of these (compared in lower case), or is a bar of links.
# Banner and footer wording only: "privacy policy" or "unsubscribe" alone is as likely a
# customer's request as a page's footer.
_BOILERPLATE_PHRASES = (
    "website uses cookies",
    "site uses cookies",
    "we use cookies",
    "use of cookies",
    "enable javascript",
    "javascript is disabled",
    "javascript is required",
    "all rights reserved",
    "sent from my iphone",
    "sent from my android",
    "this email and any attachments",
    "this e-mail and any attachments",
    "intended solely for",
    "本网站使用cookie",
    "我们使用cookie",
    "启用javascript",
    "开启javascript",
    "版权所有",
    "保留所有权利",
    "icp备",  # the site licence number every mainland-China page shows in its footer
    "发自我的iphone",
    "本邮件及其附件",
)
_VOWELS = "aeiouy"


@dataclass(frozen=True)
class QualityVerdict:
    text: str  # the text as the C4 line rules left it
    reason: str | None  # None: keep; otherwise one of QualityFilter.rule_names()


class QualityFilter:
    """Applies the rule groups in the order FineWeb does: length, Gopher repetition, Gopher
    quality, then C4 (which edits the text, so it runs on what the others have accepted)."""

    def __init__(self, config: QualityConfig = QualityConfig()) -> None:
        self.config = config
        self._c4_edits_lines = bool(
            config.c4_terminal_punct
            or config.c4_min_words_per_line
            or config.c4_max_word_length
            or config.c4_remove_citations
            or config.c4_javascript
            or config.c4_policy
            or config.c4_min_lines
            or config.c4_min_sentences
        )
        self._stop_words = {
            "en": frozenset(config.en_stop_words),
            "zh": frozenset(config.zh_stop_words),
        }

    @staticmethod
    def rule_names() -> list[str]:
        return quality_config.rule_names()

    def check(self, text: str, lang: str | None = None) -> QualityVerdict:
        """Judge one document. ``lang`` picks the stop-word list ("zh", "en"; a region suffix
        such as "zh-CN" is ignored); when it is None the script decides, and languages without
        a list skip the stop-word rule."""
        c = self.config
        reason, ws = None, None
        if c.length:
            reason = self.check_length(text)
        if reason is None and (c.gopher_repetition or c.gopher_quality):
            ws = words(text)
            if c.gopher_repetition:
                reason = self._repetition(text, ws)
            if reason is None and c.gopher_quality:
                reason = self._gopher(text, ws, lang)
        if reason is None and c.record_rules:
            reason = self._record(text, words(text) if ws is None else ws)
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
        latin = [w for w in ws if not is_cjk(w)]
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
        if c.min_stop_words and not (c.stop_words_min_words and n < c.stop_words_min_words):
            stop_words = self._stop_words.get(_lang_of(lang, latin, n))
            if stop_words is not None:
                found = stop_words.intersection(w.lower() for w in ws)
                if len(found) < c.min_stop_words:
                    return "gopher_below_stop_words"
        return None

    # Record rules ----------------------------------------------------------------------------
    def _record(self, text: str, ws: list[str]) -> str | None:
        c = self.config
        n = len(ws)
        if (
            c.min_unique_words_ratio
            and c.ngram_min_words
            and c.unique_words_min_words <= n < c.ngram_min_words
            and len({w.lower() for w in ws}) / n < c.min_unique_words_ratio
        ):
            return "few_unique_words"
        if c.min_vowel_ratio:
            latin = [w for w in ws if not is_cjk(w)]
            if len(latin) * 2 >= n:
                lower = "".join(w for w in latin if w.isascii() and w.isalpha() and w.islower())
                if len(lower) >= 12:
                    vowels = sum(lower.count(v) for v in _VOWELS)
                    if vowels / len(lower) < c.min_vowel_ratio:
                        return "few_vowels"
        if c.boilerplate:
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines and all(map(_is_boilerplate, lines)):
                return "boilerplate"
        return None

    # C4 ------------------------------------------------------------------------------------
    def _c4(self, text: str) -> tuple[str, str | None]:
        c = self.config
        if not self._c4_edits_lines:
            # No line is removed, so the document rules see every line: judge the text whole
            # and hand it back as it came (not re-joined from stripped lines).
            lower = text.lower()
            if c.c4_lorem_ipsum and "lorem ipsum" in lower:
                return text, "c4_lorem_ipsum"
            if c.c4_curly_bracket and "{" in text:
                return text, "c4_curly_bracket"
            return text, None
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


def _is_boilerplate(line: str) -> bool:
    lower = line.lower()
    if any(p in lower for p in _BOILERPLATE_PHRASES):
        return True
    if line.startswith("|") or line.endswith("|"):
        return False  # a table row, not a bar of links
    # Plain splits, not a regex with \s* around the bar: that rescans a run of spaces from
    # each of its characters, quadratic in the run.
    items = line.replace(" · ", "|").replace(" • ", "|").split("|")
    return len(items) >= 3 and all(1 <= len(words(item)) <= 6 for item in items)


def _ends_sentence(line: str) -> bool:
    """C4's terminal punctuation, CJK-aware. An ellipsis after Latin text marks a truncated
    teaser and is dropped, as in C4; after a Chinese character ("……", "…") it ends a sentence."""
    if line.endswith(("...", "…")):
        stem = line.rstrip(".…")
        return bool(stem) and is_cjk(stem[-1])
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
    spaces = sum(not (is_cjk(a) or is_cjk(b)) for a, b in pairwise(gram))
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
