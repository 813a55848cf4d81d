"""Tests for exact and near-duplicate detection (modelmint.data.dedup)."""

from __future__ import annotations

import itertools
import pickle

import pytest

from modelmint.data.dedup import (
    Deduplicator,
    NearDupConfig,
    exact_key,
    lsh_bands,
    normalize_text,
    signatures,
)
from modelmint.data.sample import generate_sample_corpus

# About 100 characters; the copy changes three (您->你, 五->六, 谢->多): 5-gram Jaccard 0.84.
ZH = (
    "您好，我上周在你们店里买了一台破壁料理机，订单号是MM20250523-92601，现在已经过去五天了"
    "还没有发货，物流信息一直没有更新。麻烦帮我查一下什么时候能发出，如果这周还发不了货的话"
    "我想申请退款，谢谢。"
)
ZH_NEAR = ZH.replace("您好", "你好").replace("五天", "六天").replace("谢谢", "多谢")
EN = (
    "Hi, I ordered a camping lantern last week (order MM20250523-92601) and it still has not "
    "shipped. Could you check when it will go out? If not this week, I would like a refund."
)
DIFFERENT = [
    EN,
    ZH,
    "Hello! Big fan of your shop. Does the blender come with a travel cup, and in which colors?",
    "你好，我想开发票，公司抬头是星河科技有限公司，税号是91310000MA1234567X，麻烦尽快开给我。",
    "My account is locked after too many password attempts. How can I reset it today?",
    "请问这款保温杯有没有粉色的？如果下单的话大概几天能到上海？",
]


def corpus_items(n: int = 6000) -> tuple[list[tuple[str, str]], set[frozenset[str]]]:
    records, truth = generate_sample_corpus(n, seed=0)
    items = [(r["id"], "\n".join(m["content"] for m in r["messages"])) for r in records]
    planted = {frozenset(p) for p in truth.exact_duplicates + truth.near_duplicates}
    return items, planted


@pytest.fixture(scope="module")
def sample() -> tuple[list[tuple[str, str]], set[frozenset[str]]]:
    return corpus_items()


# -- normalization and exact keys ---------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hello,   World!", "hello world"),
        ("Where is my ORDER?\n\nThanks.", "where is my order thanks"),
        ("ＡＢＣ　１２３", "abc 123"),  # full-width letters, digits and space (NFKC)
        ("你好，世界！", "你好 世界"),
        ("「订单」已发货。。。", "订单已发货"),
        ("订单 MM2025 已经发货了", "订单MM2025已经发货了"),
    ],
)
def test_exact_key_ignores_case_width_punctuation_and_spacing(a: str, b: str) -> None:
    assert normalize_text(a) == normalize_text(b)
    assert exact_key(a) == exact_key(b)
    assert len(exact_key(a)) == 16


def test_exact_key_keeps_words_and_characters_apart() -> None:
    assert exact_key("hello world") != exact_key("helloworld")
    assert exact_key("你好世界") != exact_key("你好世间")
    assert exact_key("$10") != exact_key("$100")


@pytest.mark.parametrize(("text", "copy"), [(EN, EN.upper().replace(",", "")), (ZH, ZH + "  ")])
def test_exact_duplicates_found(text: str, copy: str) -> None:
    d = Deduplicator(near=None)
    assert d.add("a", text) is None
    assert d.add("b", copy) == ("exact_duplicate", "a")
    assert d.clusters() == [["a", "b"]]


# -- near duplicates ----------------------------------------------------------------------


def test_near_duplicate_chinese_found() -> None:
    d = Deduplicator()
    assert d.add("orig", ZH) is None
    assert d.add("copy", ZH_NEAR) == ("near_duplicate", "orig")


def test_clearly_different_texts_not_merged() -> None:
    d = Deduplicator()
    assert [d.add(str(i), t) for i, t in enumerate(DIFFERENT)] == [None] * len(DIFFERENT)
    assert d.clusters() == []


def test_exact_off_still_drops_copies_as_near_duplicates() -> None:
    d = Deduplicator(exact=False)
    assert d.add("a", EN) is None
    assert d.add("b", EN.lower()) == ("near_duplicate", "a")


def test_copy_of_dropped_near_duplicate_points_at_kept_document() -> None:
    d = Deduplicator()
    d.add("orig", ZH)
    d.add("near", ZH_NEAR)
    assert d.add("again", ZH_NEAR) == ("near_duplicate", "orig")
    assert d.clusters() == [["orig", "near", "again"]]


def test_clusters_put_kept_id_first() -> None:
    d = Deduplicator()
    d.add_batch([("z9", EN), ("k1", ZH), ("a0", EN + "!"), ("b5", ZH_NEAR), ("c3", EN.lower())])
    assert d.clusters() == [["z9", "a0", "c3"], ["k1", "b5"]]


def test_empty_texts() -> None:
    d = Deduplicator()
    assert d.add("a", "") is None
    assert d.add("b", "!!! ...") == ("exact_duplicate", "a")
    assert Deduplicator(exact=False).add_batch([("a", ""), ("b", "")]) == [
        None,
        ("near_duplicate", "a"),
    ]


def test_verify_off_keeps_lsh_candidates() -> None:
    d = Deduplicator(NearDupConfig(verify=False))
    assert d.add("orig", ZH) is None
    assert d.add("copy", ZH_NEAR) == ("near_duplicate", "orig")


def test_lsh_bands_use_the_whole_signature() -> None:
    for config in (NearDupConfig(), NearDupConfig(threshold=0.5), NearDupConfig(num_perm=256)):
        bands, rows = lsh_bands(config)
        assert bands * rows == config.num_perm
    # verification makes false candidates cheap, so more bands (higher recall) are chosen
    assert lsh_bands(NearDupConfig())[0] > lsh_bands(NearDupConfig(verify=False))[0]


# -- batch, signed and deterministic paths agree ------------------------------------------


def test_add_batch_equals_add_one_by_one(sample: tuple[list[tuple[str, str]], object]) -> None:
    items = sample[0][:2000]
    one, batch = Deduplicator(), Deduplicator()
    expected = [one.add(doc_id, text) for doc_id, text in items]
    got = batch.add_batch(items[:700]) + batch.add_batch(items[700:])
    assert got == expected
    assert batch.clusters() == one.clusters()
    assert any(r is not None for r in got)


def test_signatures_pickle_and_feed_add_signed() -> None:
    config = NearDupConfig()
    texts = [ZH, ZH_NEAR, EN]
    sigs = pickle.loads(pickle.dumps(signatures(texts, config)))
    d = Deduplicator(config)
    got = [
        d.add_signed(str(i), exact_key(t), s)
        for i, (t, s) in enumerate(zip(texts, sigs, strict=True))
    ]
    assert got == [None, ("near_duplicate", "0"), None]
    assert d.add_signed("3", exact_key(EN), None) == ("exact_duplicate", "2")


def test_deterministic_with_the_same_seed(sample: tuple[list[tuple[str, str]], object]) -> None:
    items = sample[0][:1500]
    assert Deduplicator().add_batch(items) == Deduplicator().add_batch(items)
    texts = [t for _, t in items[:50]]
    same = signatures(texts, NearDupConfig(seed=7)), signatures(texts, NearDupConfig(seed=7))
    other = signatures(texts, NearDupConfig(seed=8))
    assert [s.digest() for s in same[0]] == [s.digest() for s in same[1]]
    assert [s.digest() for s in same[0]] != [s.digest() for s in other]


# -- the planted duplicates of the sample corpus ------------------------------------------


def test_sample_corpus_recall_and_precision(
    sample: tuple[list[tuple[str, str]], set[frozenset[str]]],
) -> None:
    items, planted = sample
    d = Deduplicator()
    d.add_batch(items)
    pairs = {frozenset(p) for c in d.clusters() for p in itertools.combinations(c, 2)}
    found = len(pairs & planted)
    assert found / len(planted) >= 0.95  # recall
    assert found / len(pairs) >= 0.99  # precision
