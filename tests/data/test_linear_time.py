"""Curation is linear in document length: no record, however built, makes a rule backtrack
over it quadratically. Records go up to QualityConfig.max_chars (1M characters), so a
quadratic scan turns one bad record into hours of ingest."""

from __future__ import annotations

import math
import re
import time
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelmint.data.curate_config import CurateConfig
from modelmint.data.dedup import exact_key
from modelmint.data.langid import _NOISE_RE, cap_combining_runs, detect_language
from modelmint.data.pii import scrub_pii
from modelmint.data.quality import _SENTENCE_END_RE, QualityFilter
from modelmint.data.quality_config import QualityConfig
from modelmint.data.shards import curate_batch

MILLION = 1_000_000
# Every rule computes and none fails, so none is skipped because an earlier one dropped the
# document: the worst case for time.
EVERY_RULE = QualityConfig(
    min_chars=None,
    max_chars=None,
    min_doc_words=None,
    max_doc_words=None,
    min_avg_word_length=1e-9,
    max_avg_word_length=math.inf,
    max_symbol_word_ratio=math.inf,
    max_bullet_lines_ratio=math.inf,
    max_ellipsis_lines_ratio=math.inf,
    min_alpha_words_ratio=None,
    dup_line_frac=math.inf,
    dup_para_frac=math.inf,
    dup_line_char_frac=math.inf,
    dup_para_char_frac=math.inf,
    top_n_grams=tuple((n, math.inf) for n in (2, 3, 4)),
    dup_n_grams=tuple((n, math.inf) for n in range(5, 11)),
    ngram_min_words=None,
    c4_terminal_punct=False,  # so that the sentence count runs on every line
    c4_min_words_per_line=None,
    c4_max_word_length=MILLION + 1,
    c4_remove_citations=True,
    c4_javascript=True,
    c4_policy=True,
    c4_lorem_ipsum=False,
    c4_curly_bracket=False,
    c4_min_lines=None,
    min_vowel_ratio=1e-9,  # fails only a record without a single vowel
)
# What curate runs per document, with nothing dropping the record before PII scrubbing, the
# exact key and the MinHash signature.
NOTHING_DROPS = CurateConfig(quality=None, languages=None, identify_language=False)

# Characters that start or continue the runs the regexes scan: letters, digits, the code and
# e-mail characters of langid and PII, sentence ends, quotes, brackets, whitespace, CJK,
# emoji, combining marks.
ADVERSARIAL = [*"aZé1.!?@-_#:+([\"')/%,'’…。！？ \n\t\u3000中あ한😀\u0301\u0316\uff9e"]
any_character = st.one_of(
    st.sampled_from(ADVERSARIAL),
    st.characters(exclude_categories=("Cs",)),  # lone surrogates are not text
)


def _document(text: str) -> dict[str, object]:
    return {
        "id": "x.jsonl:1",
        "text": text,
        "messages": None,
        "labels": {},
        "source": "x.jsonl:1",
        "place_id": "x.jsonl:1",
    }


def _curate_every_rule(text: str) -> float:
    """Seconds for each per-document rule on ``text`` run to the end, then for curate's own
    pass over it, once as configured by default and once with nothing to drop it."""
    start = time.perf_counter()
    detect_language(text)
    QualityFilter(EVERY_RULE).check(text, "en")
    scrub_pii(text)
    curate_batch([_document(text)], CurateConfig())
    curate_batch([_document(text)], NOTHING_DROPS)
    return time.perf_counter() - start


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(char=any_character)
def test_a_million_of_any_one_character_curates_in_seconds(char: str) -> None:
    # Linear code does this in about 5 s on a slow shared machine; a rule quadratic in the
    # length of a run needed hours.
    assert _curate_every_rule(char * MILLION) < 20


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    head=st.text(st.sampled_from(ADVERSARIAL), max_size=3),
    char=any_character,
    tail=st.text(st.sampled_from(ADVERSARIAL), max_size=3),
)
def test_a_long_run_between_any_short_ends_curates_in_well_under_a_second(
    head: str, char: str, tail: str
) -> None:
    # What ends a run decides whether a backtracking regex gives up at once or rescans it
    # ("!!!…!x." did, "!!!…!" did not); 40k characters took half a minute that way.
    assert _curate_every_rule(head + char * 40_000 + tail) < 2


# The inputs that were quadratic, 40k characters each: 11 to 29 s before the fix.


def test_language_noise_over_a_long_run_of_letters_is_fast() -> None:
    for text in ("a" * 40_000, "中" * 40_000, "a-" * 20_000):
        start = time.perf_counter()
        detect_language(text)
        assert time.perf_counter() - start < 1, text[:4]


def test_language_noise_still_removes_codes_addresses_and_links() -> None:
    text = "order MM20260613-79313 from zhang.wei@example.com via https://x.cn/a?b=1 ok"
    assert _NOISE_RE.sub(" ", text).split() == ["order", "from", "via", "ok"]


def test_boilerplate_check_over_a_long_run_of_spaces_is_fast() -> None:
    # a link bar split on a regex with \s* around the bar took 21 s on this
    record_rules = QualityConfig(length=False, gopher_quality=False, gopher_repetition=False)
    for text in ("a" + " " * 40_000 + "x", "首页" + "\u3000" * 40_000 + "| 关于 | 联系"):
        start = time.perf_counter()
        QualityFilter(record_rules).check(text)
        assert time.perf_counter() - start < 1, text[:4]


def test_sentence_count_over_a_long_run_of_end_marks_is_fast() -> None:
    c4_only = replace(  # C4's line rules, which count every kept line's sentences
        QualityConfig.web(),
        length=False,
        gopher_quality=False,
        gopher_repetition=False,
        c4_min_words_per_line=None,
        c4_min_sentences=None,
    )
    for text in ("a" + "!" * 40_000 + "x.", "好" + "。" * 40_000 + "x！"):
        start = time.perf_counter()
        assert QualityFilter(c4_only).check(text).reason is None
        assert time.perf_counter() - start < 1, text[:4]


@pytest.mark.parametrize(
    "pair",
    [
        "\u0301\u0316",  # two classes of combining mark, out of canonical order
        "\u0301\uff9e",  # the second a starter that decomposes to a mark (U+3099)
    ],
)
def test_normalizing_a_long_run_of_combining_marks_is_fast(pair: str) -> None:
    # Unicode normalization sorts each run of marks with an insertion sort.
    text = "a" + pair * 20_000
    start = time.perf_counter()
    exact_key(text)
    detect_language(text)
    assert time.perf_counter() - start < 1


def test_only_marks_past_the_thirtieth_of_a_run_are_dropped() -> None:
    marks = "\u0301\u0316" * 20
    assert cap_combining_runs(f"e{marks} x{marks[:30]}") == f"e{marks[:30]} x{marks[:30]}"
    assert exact_key("e" + marks) == exact_key("e" + marks[:30])
    assert cap_combining_runs("a" + "\u0301\uff9e" * 20) == "a" + "\u0301\uff9e" * 15
    assert cap_combining_runs("Ελληνικά, Tiếng Việt, हिन्दी") == "Ελληνικά, Tiếng Việt, हिन्दी"


# The sentence-end regex as it was (quadratic), to show the linear one finds the same ends.
_BACKTRACKING_SENTENCE_END = re.compile(
    "[.!?。！？…]+[\"'”’」』)]*(?=\\s|$|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0003134f])"
)


@settings(max_examples=300)
@given(st.text(st.sampled_from(list(".!?。！？…\"'”’」』)a 中\n")), max_size=30))
def test_linear_sentence_end_finds_what_the_backtracking_one_found(line: str) -> None:
    assert _SENTENCE_END_RE.findall(line) == _BACKTRACKING_SENTENCE_END.findall(line)
