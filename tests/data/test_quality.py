"""Tests for the Chinese-aware Gopher / C4 / length quality rules (modelmint.data.quality)."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import asdict, fields, replace

import pytest

from modelmint.data import DataError
from modelmint.data.quality import QualityFilter, QualityVerdict
from modelmint.data.quality_config import QualityConfig, rule_settings, with_settings
from modelmint.data.words import words
from modelmint.samples import generate_sample_corpus

ZH_PARAGRAPH = (  # 188 characters, no spaces: about 170 words, not one
    "我们公司位于杭州，是一家专注于智能家居产品研发的科技企业。"
    "过去五年里，团队陆续推出了扫地机器人、空气净化器和智能台灯等多款产品，受到很多年轻家庭的欢迎。"
    "为了让用户获得更好的体验，我们在每个城市都建立了售后服务网点，并提供七天无理由退货。"
    "今年春天，我们还上线了全新的会员计划，老用户可以用积分兑换配件和延长保修。"
    "如果您对产品有任何疑问，欢迎随时联系在线客服，我们会尽快为您解答。"
)
EN_PARAGRAPH = (
    "Our company is based in Hangzhou and builds smart home products. Over the past five years "
    "the team has launched robot vacuums, air purifiers and desk lamps that are popular with "
    "young families. To give customers a better experience, we opened service centres in every "
    "city and offer a seven-day return window with no questions asked. This spring we also "
    "launched a new membership plan, so loyal customers can trade points for accessories. If "
    "you have any questions about our products, our online support team will be happy to help."
)
# The rule groups of the web preset, one at a time. Gopher's quality rules take documents of
# five words rather than fifty, and C4's lines one word rather than three and no sentence
# minimum, so that a short text can exercise each rule by itself.
WEB = QualityConfig.web()
ONLY_GOPHER_QUALITY = replace(WEB, gopher_repetition=False, c4=False, length=False, min_doc_words=5)
ONLY_REPETITION = replace(WEB, gopher_quality=False, c4=False, length=False)
ONLY_C4 = replace(
    WEB,
    gopher_quality=False,
    gopher_repetition=False,
    length=False,
    c4_min_words_per_line=1,
    c4_min_sentences=None,
)


def reason(text: str, config: QualityConfig, lang: str | None = None) -> str | None:
    verdict = QualityFilter(config).check(text, lang)
    assert verdict.reason is None or verdict.reason in QualityFilter.rule_names()
    return verdict.reason


def distinct_words(n: int, seed: int = 0) -> list[str]:
    """Made-up words that never repeat, so only the repetition a test plants is there."""
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choices("bcdfghklmnprstvz", k=3)) + rng.choice("aeiou") + "n")
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Words: a Han character is one word
# --------------------------------------------------------------------------------------------


def test_words_count_each_han_character_and_each_latin_run() -> None:
    assert words("我买了iPhone 15，订单MM20260613-79313。Don't e-mail $19.99!") == [
        *"我买了",
        "iPhone",
        "15",
        *"订单",
        "MM20260613-79313",
        "Don't",
        "e-mail",
        "19.99",
    ]
    assert len(words(ZH_PARAGRAPH)) > 150
    assert len(ZH_PARAGRAPH.split()) == 1  # what a whitespace count would make of it


@pytest.mark.parametrize("config", [QualityConfig(), QualityConfig.web()])
@pytest.mark.parametrize("lang", ["zh", None])
def test_chinese_paragraph_is_judged_in_characters(config: QualityConfig, lang: str | None) -> None:
    verdict = QualityFilter(config).check(ZH_PARAGRAPH, lang)
    assert verdict == QualityVerdict(ZH_PARAGRAPH, None)


@pytest.mark.parametrize("config", [QualityConfig(), QualityConfig.web()])
def test_english_paragraph_passes(config: QualityConfig) -> None:
    assert reason(EN_PARAGRAPH, config, "en") is None


def test_web_preset_has_gophers_thresholds() -> None:
    web = QualityConfig.web()
    assert (web.min_doc_words, web.c4_min_words_per_line, web.c4_min_sentences) == (50, 3, 5)
    forty_words = " ".join(EN_PARAGRAPH.split()[:40]) + "."
    assert reason(forty_words, web, "en") == "gopher_short_doc"
    assert reason(forty_words, QualityConfig(), "en") is None


# --------------------------------------------------------------------------------------------
# The default config on short customer-service chats
# --------------------------------------------------------------------------------------------


def test_default_config_keeps_nearly_all_sample_dialogues() -> None:
    records, truth = generate_sample_corpus(6000, seed=0)
    copies = {c for c, _ in truth.exact_duplicates + truth.near_duplicates}
    qf = QualityFilter()
    reasons = Counter(
        qf.check("\n".join(m["content"] for m in r["messages"]), r["lang"]).reason
        for r in records
        if r["id"] not in copies
    )
    kept = reasons[None] / sum(reasons.values())
    assert kept >= 0.97, reasons


def test_config_serialises_deterministically() -> None:
    # the curation pipeline hashes asdict(config) as JSON to name dataset versions
    dumped = json.dumps(asdict(QualityConfig()), sort_keys=True)
    assert dumped == json.dumps(asdict(QualityConfig()), sort_keys=True)


def test_rule_names_are_unique_snake_case() -> None:
    names = QualityFilter.rule_names()
    assert len(names) == len(set(names))
    assert all(n.replace("_", "").isalnum() and n == n.lower() for n in names)
    assert {"gopher_short_doc", "gopher_below_stop_words", "gopher_dup_line_frac"} <= set(names)
    assert {"c4_too_few_lines", "too_short", "too_long"} <= set(names)


def test_rule_groups_can_be_switched_off() -> None:
    off = QualityConfig(gopher_quality=False, gopher_repetition=False, c4=False, length=False)
    assert QualityFilter(off).check("{", "en") == QualityVerdict("{", None)
    assert QualityFilter(off).check("", None).reason is None


# --------------------------------------------------------------------------------------------
# Length
# --------------------------------------------------------------------------------------------


def test_length_rules() -> None:
    assert reason("ok", QualityConfig()) == "too_short"
    assert reason("嗯", QualityConfig()) == "too_short"
    assert reason("", QualityConfig()) == "too_short"
    assert reason("能退吗", QualityConfig(), "zh") is None  # "can I return it?"
    assert reason("ok", replace(WEB, gopher_quality=False, c4=False)) is None  # no minimum
    assert reason(EN_PARAGRAPH, replace(QualityConfig(), max_chars=100), "en") == "too_long"


# --------------------------------------------------------------------------------------------
# Gopher quality
# --------------------------------------------------------------------------------------------


def test_short_and_long_documents() -> None:
    assert reason("Okay thanks, bye now!", ONLY_GOPHER_QUALITY, "en") == "gopher_short_doc"
    assert reason("好的谢谢", ONLY_GOPHER_QUALITY, "zh") == "gopher_short_doc"  # 4 words
    long_cfg = replace(ONLY_GOPHER_QUALITY, max_doc_words=100)
    assert reason(ZH_PARAGRAPH, long_cfg, "zh") == "gopher_long_doc"


def test_mean_word_length_is_measured_on_latin_words_only() -> None:
    short = "I am so in it to be or go up as we do my an ox"
    assert reason(short, ONLY_GOPHER_QUALITY, "en") == "gopher_below_avg_word_length"
    long = " ".join(["incomprehensibilities"] * 3 + ["the", "and", "with"])
    assert reason(long, ONLY_GOPHER_QUALITY, "en") == "gopher_above_avg_word_length"
    # every Han character is a one-character word; Chinese must not fail Gopher's 3-10 range
    assert reason(ZH_PARAGRAPH, ONLY_GOPHER_QUALITY, "zh") is None


def test_symbol_ratios() -> None:
    hashes = "the hashtag and that #sale #deal #promo #offer #discount #bargain"
    assert reason(hashes, ONLY_GOPHER_QUALITY, "en") == "gopher_too_many_hashes"
    dots = "the story... and that... of course... to believe... with more words here"
    assert reason(dots, ONLY_GOPHER_QUALITY, "en") == "gopher_too_many_ellipsis"
    zh_dots = "我的……是不是……你们……怎么……回事……"  # "……" is one ellipsis, still too many
    assert reason(zh_dots, ONLY_GOPHER_QUALITY, "zh") == "gopher_too_many_ellipsis"


def test_bullet_and_trailing_ellipsis_lines() -> None:
    bullets = "\n".join(f"- the item {w} and that one" for w in distinct_words(10))
    assert reason(bullets, ONLY_GOPHER_QUALITY, "en") == "gopher_too_many_bullets"
    zh_bullets = "\n".join(f"• 这是第{i}条，我们的产品很好" for i in "一二三四五六七八九十")
    assert reason(zh_bullets, ONLY_GOPHER_QUALITY, "zh") == "gopher_too_many_bullets"
    cfg = replace(ONLY_GOPHER_QUALITY, max_symbol_word_ratio=None)
    trailing = "Read the story of the year and\nthe best of the rest...\nwith more to come…"
    assert reason(trailing, cfg, "en") == "gopher_too_many_end_ellipsis"


def test_alpha_word_ratio() -> None:
    numbers = "the order and with 2025 1234 5678 9012 3456 7890 1122 3344"
    assert reason(numbers, ONLY_GOPHER_QUALITY, "en") == "gopher_below_alpha_ratio"
    # Han characters are letters
    assert reason("我们的订单是12号的，你好了吗", ONLY_GOPHER_QUALITY, "zh") is None


def test_stop_words_english_and_chinese() -> None:
    no_stop = "Quick question regarding shipment dates, please advise soon. Thanks, Bob."
    assert reason(no_stop, ONLY_GOPHER_QUALITY, "en") == "gopher_below_stop_words"
    assert reason("The box and the lid.", ONLY_GOPHER_QUALITY, "en") is None  # case-blind
    product_list = "华为手机小米电视苹果电脑联想笔记本戴尔显示器索尼耳机"
    assert reason(product_list, ONLY_GOPHER_QUALITY, "zh") == "gopher_below_stop_words"
    assert reason(product_list, ONLY_GOPHER_QUALITY, None) == "gopher_below_stop_words"
    assert reason("我买的手机还没到，你们看一下。", ONLY_GOPHER_QUALITY, "zh") is None


def test_stop_word_list_follows_the_language() -> None:
    chinese = "我买的手机还没到，你们看一下。"
    assert reason(chinese, ONLY_GOPHER_QUALITY, "zh-CN") is None
    assert reason(chinese, ONLY_GOPHER_QUALITY, None) is None  # the script says zh
    english = "The box and the lid are broken."
    assert reason(english, ONLY_GOPHER_QUALITY, "zh") == "gopher_below_stop_words"
    # no list for French: the rule cannot judge, so it does not drop
    assert reason("Merci pour votre aide, bonne journée.", ONLY_GOPHER_QUALITY, "fr") is None


# --------------------------------------------------------------------------------------------
# Gopher repetition
# --------------------------------------------------------------------------------------------


def test_duplicate_lines_and_paragraphs() -> None:
    lines = ["Thanks for the help.", "Where is my order?", "Thanks for the help."]
    assert reason("\n".join(lines), ONLY_REPETITION) == "gopher_dup_line_frac"
    paras = ["First part of it.", "Second part of it.", "First part of it."]
    assert reason("\n\n".join(paras), ONLY_REPETITION) == "gopher_dup_para_frac"
    ws = distinct_words(60)
    long_para = " ".join(ws[:30]) + "."
    by_chars = "\n\n".join([long_para, "A short one.", "Another short one.", long_para])
    assert reason(by_chars, ONLY_REPETITION) == "gopher_dup_para_char_frac"
    long_line = " ".join(ws[30:]) + "."
    line_chars = "\n".join([long_line, "One.", "Two.", "Three.", long_line])
    assert reason(line_chars, ONLY_REPETITION) == "gopher_dup_line_char_frac"
    zh_lines = "你好，在吗？\n订单还没到。\n你好，在吗？"
    assert reason(zh_lines, ONLY_REPETITION) == "gopher_dup_line_frac"


def test_top_ngram() -> None:
    ws = distinct_words(150)
    for i in range(0, 150, 5):
        ws.insert(i, "special offer")
    assert reason(" ".join(ws), ONLY_REPETITION) == "gopher_top_ngram"
    zh = "".join(f"{c}限时特价" for c in ZH_PARAGRAPH[:40])  # a 4-character phrase 40 times
    assert reason(zh, ONLY_REPETITION) == "gopher_top_ngram"


def test_duplicate_ngrams() -> None:
    ws = distinct_words(120)
    sentences = [" ".join(ws[i : i + 10]) for i in range(0, 120, 10)]
    text = " ".join(sentences + sentences[:4])  # one line: only n-grams repeat
    assert reason(text, ONLY_REPETITION) == "gopher_dup_ngram"
    assert reason(" ".join(sentences), ONLY_REPETITION) is None


def test_short_documents_skip_ngram_rules() -> None:
    # an agent repeating the order number is a third of this chat's characters
    chat = "订单MM20260326-11276能改地址吗？\n订单MM20260326-11276还没出库，可以改。"
    assert reason(chat, ONLY_REPETITION) == "gopher_top_ngram"
    assert reason(chat, replace(ONLY_REPETITION, ngram_min_words=150)) is None


# --------------------------------------------------------------------------------------------
# C4
# --------------------------------------------------------------------------------------------


def test_c4_removes_lines_and_keeps_the_document() -> None:
    text = "\n".join(
        [
            "Welcome to our shop",  # no terminal punctuation
            "Please enable JavaScript to continue.",
            "Read our privacy policy for details.",
            "Your order has shipped.",
            "Read more...",  # a truncated teaser
            "See the manual [1] for details.",
        ]
    )
    verdict = QualityFilter(ONLY_C4).check(text, "en")
    assert verdict == QualityVerdict("Your order has shipped.\nSee the manual  for details.", None)


def test_c4_accepts_chinese_sentence_ends() -> None:
    lines = [
        "订单已经发货了。",
        "真的吗！",
        "什么时候到？",
        "我再等等吧……",
        "他说：“明天到。”",
        "收到啦～",
        "请看「我的订单」",
        "没有标点的一行",
        "Read more…",
    ]
    verdict = QualityFilter(ONLY_C4).check("\n".join(lines), "zh")
    assert verdict.text.splitlines() == lines[:7]
    assert verdict.reason is None


def test_c4_min_words_per_line_counts_han_characters() -> None:
    cfg = replace(ONLY_C4, c4_min_words_per_line=3)
    verdict = QualityFilter(cfg).check("好的。\n我知道了。\nOK thanks.\nThat works for me.", None)
    assert verdict.text == "我知道了。\nThat works for me."


def test_c4_document_rules() -> None:
    assert reason("Lorem ipsum dolor sit amet.", ONLY_C4) == "c4_lorem_ipsum"
    assert reason('Use {"a": 1} in the config.', ONLY_C4) == "c4_curly_bracket"
    no_punct = QualityFilter(ONLY_C4).check("hello there\nanyone around", "en")
    assert no_punct == QualityVerdict("", "c4_too_few_lines")
    few = "First sentence. Second one.\n第三句。第四句！"
    web_c4 = replace(ONLY_C4, c4_min_sentences=5)
    assert reason(few, web_c4) == "c4_too_few_sentences"
    assert reason(few + "\nAnd a fifth.", web_c4) is None
    assert reason('Use {"a": 1} in the config.', replace(ONLY_C4, c4_curly_bracket=False)) is None


def test_c4_runs_after_the_document_rules() -> None:
    # the Gopher rules judge the text as given, C4 then edits what they kept
    text = ZH_PARAGRAPH + "\n点击这里查看更多"
    verdict = QualityFilter(WEB).check(text, "zh")
    assert verdict == QualityVerdict(ZH_PARAGRAPH, None)


# --------------------------------------------------------------------------------------------
# The default preset on short records, and its record rules
# --------------------------------------------------------------------------------------------

ONLY_RECORD_RULES = QualityConfig(gopher_quality=False, gopher_repetition=False, c4=False)


def test_default_keeps_short_records_without_final_punctuation() -> None:
    for text, lang in [
        ("快递显示已签收但是我根本没收到 家里也没人签过", "zh"),
        ("退款进度查询", "zh"),  # no function character: the stop-word rule waits for 50 words
        ("Tracking says delivered but nothing arrived", "en"),
        ("payment failed twice", "en"),
        ("Order #12345 not received", "en"),  # one "#" in four words
    ]:
        assert reason(text, QualityConfig(), lang) is None, text
        assert reason(text, WEB, lang) is not None, text


def test_default_edits_no_text() -> None:
    text = "  Hi,\n\n    the lamp is broken\nPlease enable JavaScript\nSee [1]  "
    assert QualityFilter(QualityConfig()).check(text, "en") == QualityVerdict(text, None)


def test_few_unique_words() -> None:
    for junk in [
        "哈哈哈哈哈哈哈哈",
        "退款退款退款退款退款",
        "help help help help help",
        "BUY NOW " * 5,
    ]:
        assert reason(junk, ONLY_RECORD_RULES) == "few_unique_words", junk
    assert reason("好的好的，谢谢", ONLY_RECORD_RULES) is None
    # a page's length is the n-gram rules' business: the ratio falls with length anyway
    assert reason(ZH_PARAGRAPH * 3, ONLY_RECORD_RULES, "zh") is None
    # no n-gram rules below ngram_min_words=None, so no stand-in for them either
    assert reason("哈" * 20, replace(ONLY_RECORD_RULES, ngram_min_words=None)) is None


def test_few_vowels() -> None:
    assert reason("sdfkjh sdkfjh wekrjh sdfkj sdkjfh", ONLY_RECORD_RULES) == "few_vowels"
    assert reason("jkjkjkjkjk fdfdfdfd jkljkl", ONLY_RECORD_RULES) == "few_vowels"
    # upper-case abbreviations and model numbers are not counted
    assert reason("USB-C PD 65W GaN HDMI NVMe SSD charger hub", ONLY_RECORD_RULES) is None
    assert reason(EN_PARAGRAPH, ONLY_RECORD_RULES) is None
    # Latin letters in a Chinese record are names and codes, not words
    assert reason("订单发到了https://www.jd.com/xyz这里", ONLY_RECORD_RULES) is None


def test_boilerplate_is_a_record_that_is_nothing_else() -> None:
    for junk in [
        "This website uses cookies to improve your experience.\nPrivacy | Terms of Use | Contact",
        "© 2026 Northwind Trading Ltd. All rights reserved.",
        "Home | Shop | New Arrivals | About Us | Contact",
        "版权所有 © 2026 杭州云帆科技有限公司\n浙ICP备12345678号",
        "首页 · 产品中心 · 关于我们",
    ]:
        assert reason(junk, ONLY_RECORD_RULES) == "boilerplate", junk
    for kept in [
        "I read your privacy policy and want my data deleted.",  # a request, not a footer
        "Hi,\nthe lamp is broken, please replace it.\nTom\n\nSent from my iPhone",
        "| 容量 | 500毫升 | 白色 |",  # a table row
        "Size M | Black",  # two items: as often a product variant as a footer
        "请问隐私政策里说的数据保存多久",
    ]:
        assert reason(kept, ONLY_RECORD_RULES) is None, kept


# --------------------------------------------------------------------------------------------
# Settings by name
# --------------------------------------------------------------------------------------------


def test_every_rule_names_settings_that_exist() -> None:
    names = {f.name for f in fields(QualityConfig)}
    for rule in QualityFilter.rule_names():
        assert rule_settings(rule) and set(rule_settings(rule)) <= names, rule
    assert rule_settings("c4_too_few_lines")[0] == "c4_terminal_punct"
    assert rule_settings("near_duplicate") == ()


def test_with_settings_parses_each_kind_of_value() -> None:
    config = with_settings(
        QualityConfig(),
        [
            "min_chars=10",
            "c4_terminal_punct=true",
            "max_bullet_lines_ratio=0.8",
            "min_doc_words=none",
            "top_n_grams=2:0.3, 3:0.2",
            "en_stop_words=the,a",
        ],
    )
    assert (config.min_chars, config.c4_terminal_punct, config.max_bullet_lines_ratio) == (
        10,
        True,
        0.8,
    )
    assert config.min_doc_words is None
    assert config.top_n_grams == ((2, 0.3), (3, 0.2))
    assert config.en_stop_words == ("the", "a")
    assert with_settings(WEB, []) == WEB


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("min_chars=abc", "min_chars takes a whole number, or none to switch it off (now 3)"),
        ("c4_policy=maybe", "c4_policy takes true or false (now false)"),
        ("unique_words_min_words=none", "unique_words_min_words takes a whole number (now 5)"),
        ("top_n_grams=2", "top_n_grams takes N:SHARE pairs"),
        ("min_chars", "write NAME=VALUE"),
        ("min_char=3", "no quality setting 'min_char'; the settings are: gopher_quality, "),
    ],
)
def test_with_settings_names_the_field_and_what_it_takes(assignment: str, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        with_settings(QualityConfig(), [assignment])
