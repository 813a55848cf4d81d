"""Tests for language identification (modelmint.data.langid)."""

from __future__ import annotations

import pytest

from modelmint.data.langid import LanguageFilter, LanguageGuess, detect_language
from modelmint.samples import generate_sample_corpus

MIXED_CHINESE = [
    "我买的iPhone 15 Pro Max，订单MM20260613-79313还没发货",
    "AirPods Pro的降噪效果怎么样？",
    "订单MM20250505-31514是用PayPal付的，能退吗",
    "SF1234567890123这个单号查不到",
    "Nike Air Max 90有42码吗？",
    "用Apple Pay付款失败了，提示error code 403",
    "UPS单号1ZD7CZ4M6397584388显示delivered，但我没收到",
    "Kindle Paperwhite 5 Signature Edition 32GB 现在有优惠吗",
    "Apple iPhone 15 Pro Max 256GB Natural Titanium 退货",
    "Sony WH-1000XM5 Wireless Noise Cancelling Headphones 黑色 有货吗",
    "我在Amazon买的Logitech MX Master 3S mouse坏了，order MM20250101-00001",
    "please help 我的订单",
    "你好",  # py3langid calls this Cantonese; ISO 639-1 "zh" covers it
]


def test_accuracy_on_the_sample_corpus() -> None:
    records, _ = generate_sample_corpus(6000, seed=0)
    right = sum(
        detect_language("\n".join(m["content"] for m in r["messages"])).lang == r["lang"]
        for r in records
    )
    assert right / len(records) >= 0.99


@pytest.mark.parametrize("text", MIXED_CHINESE)
def test_chinese_with_codes_and_english_names_is_chinese(text: str) -> None:
    guess = detect_language(text)
    assert guess.lang == "zh"
    assert 0.5 <= guess.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("My name is 张伟 and I need help with my order.", "en"),
        ("I love 北京 and 上海, the food is great.", "en"),
        ("Where is my order MM20260613-79313?", "en"),
        ("Je voudrais annuler ma commande.", "fr"),
        ("Ich möchte meine Bestellung stornieren.", "de"),
        ("¿Dónde está mi pedido?", "es"),
        ("Где мой заказ?", "ru"),
        ("注文した商品がまだ届いていません。", "ja"),
        ("주문한 상품이 아직 도착하지 않았어요.", "ko"),
    ],
)
def test_other_languages(text: str, lang: str) -> None:
    assert detect_language(text).lang == lang


@pytest.mark.parametrize("text", ["", "   ", "MM20260613-79313 12:30 $19.99", "!!! ???"])
def test_no_letters_is_undetermined(text: str) -> None:
    assert detect_language(text) == LanguageGuess("und", 0.0)


def test_filter_keeps_zh_and_en_by_default() -> None:
    lf = LanguageFilter()
    guess, reason = lf.check("订单什么时候发货？")
    assert (guess.lang, reason) == ("zh", None)
    assert lf.check("Where is my order?")[1] is None
    assert lf.check("Je voudrais annuler ma commande.")[1] == "lang_not_kept:fr"


# Short English questions, written for this test, that py3langid alone is unsure of or calls
# Nigerian Pidgin (an English-lexified creole): each is under 0.5 English, or Pidgin on top.
SHORT_ENGLISH_QUESTIONS = [
    "how do I return it",
    "how do I cancel",
    "how do I pay for it",
    "how do I sign in",
    "how do I reset my password",
]


@pytest.mark.parametrize("text", SHORT_ENGLISH_QUESTIONS)
def test_short_english_questions_are_kept_as_english(text: str) -> None:
    alone = detect_language(text)
    assert alone.lang == "pcm" or (alone.lang == "en" and alone.confidence < 0.5)
    guess, reason = LanguageFilter().check(text)
    assert (guess.lang, reason) == ("en", None)
    assert guess.confidence >= 0.5


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Mwen vle retounen li", "ht"),  # Haitian Creole: a creole, but French-lexified
        ("waar is mijn pakket", "nl"),
        ("nasaan ang order ko", "tl"),
        ("Je voudrais annuler ma commande.", "fr"),
    ],
)
def test_other_languages_are_not_counted_as_english(text: str, lang: str) -> None:
    guess, reason = LanguageFilter().check(text)
    assert (guess.lang, reason) == (lang, f"lang_not_kept:{lang}")


def test_a_keep_list_that_names_pidgin_tells_it_from_english() -> None:
    pidgin = "Abeg, I wan return dis tin wey I buy"
    assert LanguageFilter().check(pidgin)[0].lang == "en"
    guess, reason = LanguageFilter(keep=("en", "pcm")).check(pidgin)
    assert (guess.lang, reason) == ("pcm", None)
    assert LanguageFilter(keep=None).check(pidgin)[0].lang == "pcm"


def test_filter_low_confidence() -> None:
    assert LanguageFilter().check("MM20260613-79313")[1] == "lang_low_confidence"
    strict = LanguageFilter(min_confidence=0.999999)
    guess, reason = strict.check("ok")
    assert guess.confidence < 0.999999 and reason == "lang_low_confidence"


def test_filter_without_keep_list_keeps_any_language() -> None:
    lf = LanguageFilter(keep=None)
    guess, reason = lf.check("Je voudrais annuler ma commande.")
    assert (guess.lang, reason) == ("fr", None)
