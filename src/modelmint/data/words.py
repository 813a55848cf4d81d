"""Words in text that mixes Chinese and English: each Han (or kana) character is one word, and
each run of letters or digits is one word.

Chinese is written without spaces between words, so a whitespace split makes a 200-character
Chinese paragraph one word; counted this way it is ~200, the same order as the words of an
English paragraph that says as much. The quality rules count words this way (their thresholds
were set on English pages), and so does decontamination, whose n-grams are of these words.
"""

from __future__ import annotations

import re

# Han ideographs (URO, extension A, compatibility, extensions B+) and Japanese kana: scripts
# written without spaces, where one character is the nearest thing to a word. A character
# class body, for patterns that treat these scripts apart.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A word: one CJK character, or a run of letters/digits that may be joined by an apostrophe,
# hyphen, dot or comma (don't, e-mail, 19.99, MM20260613-79313), like a whitespace-split word
# with its surrounding punctuation removed.
_WORD_RE = re.compile(rf"[{CJK}]|[^\W{CJK}]+(?:[-.,'’][^\W{CJK}]+)*")
_CJK_RE = re.compile(rf"[{CJK}]")


def words(text: str) -> list[str]:
    """The words of ``text``: each CJK character is one, each run of letters or digits is one."""
    return _WORD_RE.findall(text)


def is_cjk(word: str) -> bool:
    """Whether ``word`` (one of :func:`words`, or a single character) is a CJK character."""
    return len(word) == 1 and _CJK_RE.match(word) is not None
