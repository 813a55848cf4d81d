"""The settings of the quality rules (:mod:`modelmint.data.quality`): every threshold, the two
presets, which settings decide each rule, and changing a setting by name.

:class:`QualityConfig`'s defaults are the preset for a company's own records (tickets, chat
messages and logs, e-mails, FAQ answers, product descriptions), most of them a line or a
paragraph long; :meth:`QualityConfig.web` has the thresholds of Gopher's and C4's papers, for
web-scale pages. Why each default differs from the papers is said beside it, and the quality
module says how each rule set is adapted. ``tests/data/quality_eval/`` holds the records both
presets are measured on.

When one rule drops most of an input, the ingest's report names the settings that relax it
(:func:`rule_settings`), and ``mint data ingest --set NAME=VALUE`` changes one
(:func:`with_settings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from modelmint.data.errors import DataError

# Gopher's English stop words, and the most frequent Chinese function characters in their role.
EN_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
ZH_STOP_WORDS = tuple("的了是在我有和就不人都一也很到要这你会着没他们吗呢吧个上")


@dataclass(frozen=True)
class QualityConfig:
    """Every threshold of every rule; ``None`` (or 0, or False) switches a single rule off.

    The defaults are the preset for a company's own records: tickets, chat messages and logs,
    e-mails, FAQ answers, product descriptions. :meth:`web` is Gopher's and C4's preset for
    web pages. Why each default differs from the papers is said beside it."""

    gopher_quality: bool = True
    gopher_repetition: bool = True
    c4: bool = True
    length: bool = True
    record_rules: bool = True  # modelmint's own rules for short records; off in web()
    # length (characters, after stripping). Three characters: "能退吗" ("can I return it?") is a
    # whole question in Chinese; "ok", "嗯" and "?" are not.
    min_chars: int | None = 3
    max_chars: int | None = 1_000_000
    # Gopher quality
    # Gopher wants 50 words: a page. A ticket or a chat message is often under ten, and "怎么退货"
    # or "where is my package" is one a user keeps; under three words ("ok thanks") is not.
    min_doc_words: int | None = 3
    max_doc_words: int | None = 100_000
    # Gopher's 3 is a mean over a page; over five words of a question ("can I do it now")
    # one short word moves it by half a letter, so only a mean under 2 says "not words".
    min_avg_word_length: float | None = 2
    max_avg_word_length: float | None = 10
    # Gopher's 0.1 is one "#" in ten words. One "order #12345" in a four-word ticket is a
    # quarter, and "嗯……好吧……" a fifth; hashtag spam and teaser lists are more than half.
    max_symbol_word_ratio: float | None = 0.5
    # Bullet lists are navigation on a web page, but the content of a product description or
    # an FAQ answer; and a trailing ellipsis is a truncated teaser on a page but a tone of
    # voice in a chat. Both rules are web() only.
    max_bullet_lines_ratio: float | None = None
    max_ellipsis_lines_ratio: float | None = None
    # Gopher's 0.8 drops a ticket whose order number, price and date are three of its eight
    # words; a record that is mostly numbers is still dropped.
    min_alpha_words_ratio: float | None = 0.5
    min_stop_words: int | None = 2
    # Gopher measured stop words on pages of 50+ words. Telegraphic records have none: "退款
    # 进度查询", "payment failed twice", a spec-style product description. Shorter documents
    # skip the rule; the record rules below catch the junk it would have caught.
    stop_words_min_words: int | None = 50
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
    # duplicate line and paragraph rules still apply, and so does min_unique_words_ratio.
    ngram_min_words: int | None = 150
    # C4 (line rules remove lines; the others drop the document). C4 keeps only lines that end
    # in terminal punctuation, which suits pages and drops tickets typed without a final full
    # stop; it removes any line that mentions a privacy policy, which drops a customer's
    # request to delete their data. A record is the user's unit: the default edits no line,
    # and judges boilerplate by the whole record (record_rules). web() has every line rule.
    c4_terminal_punct: bool = False
    c4_min_words_per_line: int | None = None
    c4_max_word_length: int | None = None
    c4_remove_citations: bool = False
    c4_javascript: bool = False
    c4_policy: bool = False
    c4_lorem_ipsum: bool = True
    c4_curly_bracket: bool = True
    c4_min_lines: int | None = None
    c4_min_sentences: int | None = None
    # Record rules (modelmint's own; they need no page-sized statistics)
    # Documents too short for the n-gram rules (under ngram_min_words) and of at least
    # unique_words_min_words words are dropped when fewer than this share of their words are
    # distinct: "哈哈哈哈哈哈", "help help help help", "好评好评好评好评". Ordinary short
    # records are well over half distinct words; the ratio falls with length, hence the cap.
    min_unique_words_ratio: float | None = 0.3
    unique_words_min_words: int = 5
    # Mostly-Latin documents with at least 12 lower-case ASCII letters are dropped when fewer
    # than this share of those letters are vowels (a, e, i, o, u, y): keyboard mashing
    # ("sdfkjh sdkfjh", "jkjkjk fdfdfd") has almost none, English about 40%, and the languages
    # written in Latin letters over 30%. Upper-case letters are left out: abbreviations and
    # model numbers (HDMI, NVMe, USB-C) are not words.
    min_vowel_ratio: float | None = 0.15
    # A record whose every line is boilerplate: a cookie or JavaScript notice, a copyright or
    # site-licence footer, an e-mail disclaimer or "Sent from my iPhone", or a bar of links
    # ("Home | Shop | About Us"). A line that only mentions a policy is the customer's own.
    boilerplate: bool = True

    @classmethod
    def web(cls) -> QualityConfig:
        """Gopher's and C4's original thresholds, for web-scale pages."""
        return cls(
            record_rules=False,
            min_chars=None,
            min_doc_words=50,
            min_avg_word_length=3,
            max_symbol_word_ratio=0.1,
            max_bullet_lines_ratio=0.9,
            max_ellipsis_lines_ratio=0.3,
            min_alpha_words_ratio=0.8,
            stop_words_min_words=None,
            ngram_min_words=None,
            c4_terminal_punct=True,
            c4_min_words_per_line=3,
            c4_max_word_length=1000,
            c4_remove_citations=True,
            c4_javascript=True,
            c4_policy=True,
            c4_min_lines=1,
            c4_min_sentences=5,
        )


# Each rule group, its rules (the drop reasons), and for each rule the settings that relax it.
_RULES: dict[str, dict[str, tuple[str, ...]]] = {
    "length": {"too_short": ("min_chars",), "too_long": ("max_chars",)},
    "gopher_repetition": {
        "gopher_dup_para_frac": ("dup_para_frac",),
        "gopher_dup_para_char_frac": ("dup_para_char_frac",),
        "gopher_dup_line_frac": ("dup_line_frac",),
        "gopher_dup_line_char_frac": ("dup_line_char_frac",),
        "gopher_top_ngram": ("top_n_grams", "ngram_min_words"),
        "gopher_dup_ngram": ("dup_n_grams", "ngram_min_words"),
    },
    "gopher_quality": {
        "gopher_short_doc": ("min_doc_words",),
        "gopher_long_doc": ("max_doc_words",),
        "gopher_below_avg_word_length": ("min_avg_word_length",),
        "gopher_above_avg_word_length": ("max_avg_word_length",),
        "gopher_too_many_hashes": ("max_symbol_word_ratio",),
        "gopher_too_many_ellipsis": ("max_symbol_word_ratio",),
        "gopher_too_many_bullets": ("max_bullet_lines_ratio",),
        "gopher_too_many_end_ellipsis": ("max_ellipsis_lines_ratio",),
        "gopher_below_alpha_ratio": ("min_alpha_words_ratio",),
        "gopher_below_stop_words": ("min_stop_words", "stop_words_min_words"),
    },
    "record_rules": {
        "few_unique_words": ("min_unique_words_ratio",),
        "few_vowels": ("min_vowel_ratio",),
        "boilerplate": ("boilerplate",),
    },
    "c4": {
        "c4_lorem_ipsum": ("c4_lorem_ipsum",),
        "c4_curly_bracket": ("c4_curly_bracket",),
        "c4_too_few_lines": ("c4_terminal_punct", "c4_min_words_per_line", "c4_min_lines"),
        "c4_too_few_sentences": ("c4_min_sentences",),
    },
}


def rule_names() -> list[str]:
    """Every rule's name, which is the reason a document it drops is given."""
    return [name for rules in _RULES.values() for name in rules]


def rule_settings(rule: str) -> tuple[str, ...]:
    """The QualityConfig fields that decide ``rule`` (a drop reason), or () for a reason
    that is not a quality rule (a language or a duplicate)."""
    for rules in _RULES.values():
        if rule in rules:
            return rules[rule]
    return ()


def with_settings(config: QualityConfig, assignments: Sequence[str]) -> QualityConfig:
    """``config`` with each ``NAME=VALUE`` of ``assignments`` set: a number, ``true`` or
    ``false``, ``none`` to switch a threshold off, a comma list for the stop words, and
    ``N:SHARE`` pairs for the n-gram thresholds (``2:0.2,3:0.18``)."""
    types = {f.name: str(f.type) for f in fields(QualityConfig)}
    changes: dict[str, Any] = {}
    for assignment in assignments:
        name, eq, value = (part.strip() for part in assignment.partition("="))
        if not eq:
            raise DataError(f"quality setting {assignment!r}: write NAME=VALUE, e.g. min_chars=10")
        if name not in types:
            raise DataError(f"no quality setting {name!r}; the settings are: {', '.join(types)}")
        try:
            changes[name] = _parse_setting(types[name], value)
        except ValueError:
            takes = _SETTING_FORMS[_kind(types[name])]
            if "None" in types[name]:
                takes += ", or none to switch it off"
            now = _shown(getattr(config, name))
            raise DataError(
                f"quality setting {name}={value!r}: {name} takes {takes} (now {now})"
            ) from None
    return replace(config, **changes)


_SETTING_FORMS = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "words": "a comma list of words",
    "pairs": "N:SHARE pairs such as 2:0.2,3:0.18",
}


def _kind(type_name: str) -> str:
    if type_name.startswith("tuple[tuple"):
        return "pairs"
    if type_name.startswith("tuple"):
        return "words"
    return type_name.split(" ")[0]  # "int | None" -> "int"


def _parse_setting(type_name: str, value: str) -> Any:
    lower = value.lower()
    if "None" in type_name and lower == "none":
        return None
    kind = _kind(type_name)
    if kind == "bool":
        if lower in ("true", "yes", "on", "1"):
            return True
        if lower in ("false", "no", "off", "0"):
            return False
        raise ValueError(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    items = [item.strip() for item in value.split(",") if item.strip()]
    if kind == "words":
        return tuple(items)
    pairs = [item.split(":") for item in items]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(value)
    return tuple((int(n), float(share)) for n, share in pairs)


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(f"{v[0]}:{v[1]}" if isinstance(v, tuple) else str(v) for v in value)
    return str(value)
