import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from modelmint.catalog import Catalog, CatalogError
from modelmint.data import CurateConfig, DataError, SplitConfig, curate
from modelmint.samples import write_sample_corpus
from modelmint.store import Store


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    return Catalog(store, tmp_path / "artifacts")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("sample") / "cs.jsonl"
    return path, write_sample_corpus(path, n_dialogues=2000, seed=3)


def test_sample_curates_into_a_clean_split_dataset(catalog: Catalog, sample) -> None:
    path, truth = sample
    res = curate(catalog, [path], "cs", CurateConfig(splits=SplitConfig(validation=0.1, test=0.05)))
    ds, report = res.dataset, res.report
    assert res.created and ds.version == 1
    # Planted duplicates go; everything else of this clean corpus stays.
    assert report["drops"].get("exact_duplicate", 0) + report["drops"].get(
        "near_duplicate", 0
    ) >= 0.95 * (len(truth.exact_duplicates) + len(truth.near_duplicates))
    assert report["read"] == 2000 and report["kept"] + report["dropped"] == 2000
    assert report["kept"] >= 0.85 * 2000
    assert set(ds.splits) == {"train", "validation", "test"}
    train, val = ds.read_split("train"), ds.read_split("validation")
    assert {d["id"] for d in train}.isdisjoint({d["id"] for d in val})
    # Every planted PII string is gone from what was kept.
    kept = {d["id"]: d for s in ds.splits for d in ds.read_split(s)}
    for doc_id, strings in truth.pii.items():
        if doc_id in kept:
            assert not any(s in kept[doc_id]["text"] for s in strings)
            assert not any(s in m["content"] for s in strings for m in kept[doc_id]["messages"])
    assert report["pii_replaced"]
    # Stratified: every intent appears in validation in about its share.
    assert report["stratified_by"] == "intent"
    intents = {d["labels"]["intent"] for d in train}
    assert {d["labels"]["intent"] for d in val} == intents
    assert (ds.path / "report.html").read_text().count("<img") >= 4
    drops = pq.read_table(ds.path / "drops.parquet").to_pylist()
    assert len(drops) == report["dropped"] and all(d["reason"] for d in drops)


def test_same_input_same_version_and_new_input_new_version(
    catalog: Catalog, sample, tmp_path: Path
) -> None:
    path, _ = sample
    first = curate(catalog, [path], "cs")
    again = curate(catalog, [path], "cs")
    assert not again.created and again.dataset.id == first.dataset.id
    other = tmp_path / "other.jsonl"
    write_sample_corpus(other, n_dialogues=200, seed=9)
    assert curate(catalog, [other], "cs").dataset.version == 2


def test_decontamination_removes_training_copies_of_eval_text(
    catalog: Catalog, tmp_path: Path
) -> None:
    base = "退款申请已经提交，款项会在三到五个工作日内原路退回到您的支付账户，请注意查收短信通知。"
    rows = [
        {"text": f"{base}这是第{i}条不同的补充说明，编号{i * 7919}。", "label": "x"}
        for i in range(60)
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    config = CurateConfig(
        near_dedup=None, quality=None, splits=SplitConfig(validation=0.1, stratify_by=None)
    )
    res = curate(catalog, [path], "contam", config)
    # Every training document shares the long common prefix with the evaluation documents.
    assert res.report["drops"]["contaminated"] == 54
    assert res.dataset.splits == {"train": 0, "validation": 6}


def test_bad_line_fails_naming_it_and_stores_nothing(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"text": "这是一条正常的客服记录，内容完整。"}\n{"text": broken\n', encoding="utf-8"
    )
    with pytest.raises(DataError, match=rf"{path}:2: invalid JSON.*--on-error skip"):
        curate(catalog, [path], "bad")
    with pytest.raises(CatalogError):
        catalog.get_dataset("bad")
    assert not any((catalog.artifacts_dir / "staging").iterdir())


def test_skip_writes_rejects_and_counts_them(catalog: Catalog, tmp_path: Path) -> None:
    good = [
        json.dumps(
            {
                "text": f"Your order number {i} has shipped and will arrive on "
                f"Friday. Thank you for shopping with us today."
            }
        )
        for i in range(30)
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([*good[:10], "{oops", '{"body": 1}', *good[10:]]) + "\n")
    res = curate(catalog, [path], "mixed", CurateConfig(on_error="skip", near_dedup=None))
    assert res.report["rejected"] == 2
    rejects = (res.dataset.path / "rejects.jsonl").read_text().splitlines()
    assert [json.loads(r)["source"] for r in rejects] == [f"{path}:11", f"{path}:12"]


def test_workers_and_memory_do_not_change_the_dataset(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    write_sample_corpus(path, n_dialogues=600, seed=4)
    one = curate(catalog, [path], "one", CurateConfig(batch_size=100))
    two = curate(catalog, [path], "two", CurateConfig(batch_size=100, num_proc=2))
    # a tiny memory budget: the duplicate finder's sorts run in many partitions
    three = curate(catalog, [path], "three", CurateConfig(memory_mb=0.01))
    assert one.report["drops"]["exact_duplicate"] and one.report["drops"]["near_duplicate"]
    for other in (two, three):
        assert one.dataset.splits == other.dataset.splits
        for split in one.dataset.splits:
            assert one.dataset.read_split(split) == other.dataset.read_split(split)
        assert one.report["drops"] == other.report["drops"]
        assert one.report["largest_clusters"] == other.report["largest_clusters"]
        drops = [pq.read_table(r.dataset.path / "drops.parquet") for r in (one, other)]
        assert drops[0].equals(drops[1])
    # how fast or in how much memory is not part of what the version is
    assert curate(catalog, [path], "one", CurateConfig(num_proc=2, memory_mb=1)).created is False


def test_pii_leaves_no_field_and_no_id(catalog: Catalog, tmp_path: Path) -> None:
    complaint = (
        "The headphones I ordered last week arrived with a broken left ear cup. Could you "
        "please send me a replacement or refund the payment to my card?"
    )
    rows = [
        {
            "id": "zhang.wei@example.com",
            "text": complaint,
            "customer_email": "zhang.wei@example.com",
            "contact": "call me on +86 138 1234 5678 please",
            "intent": "refund",
        },
        {
            "id": "13812345678",
            "text": "I would like to change the delivery address for my parcel, because I am "
            "moving to a new apartment on Monday and will not be at home.",
            "phone": 13812345678,
        },
        {
            "id": "T-1001",
            "text": "Is the blue winter jacket still available in a medium size? I checked the "
            "website yesterday and it said that it was out of stock.",
            "zhao.liu@example.com": "vip",
        },
        {"id": "wang.wu@example.org", "text": complaint},  # a duplicate: drops name it
        {"id": "li.si@example.cn", "text": "Hi"},  # too short: drops name it
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    config = CurateConfig(splits=SplitConfig(validation=0, stratify_by=None))
    res = curate(catalog, [path], "pii", config)

    kept = {d["id"]: d for d in res.dataset.read_split("train")}
    # An id that is PII becomes the record's place, file:line, like a record without an id.
    assert set(kept) == {"p.jsonl:1", "p.jsonl:2", "T-1001"}
    assert kept["p.jsonl:1"]["labels"] == {
        "customer_email": "<EMAIL>",
        "contact": "call me on <PHONE> please",
        "intent": "refund",
    }
    assert kept["p.jsonl:2"]["labels"] == {"phone": "<PHONE>"}
    assert kept["T-1001"]["labels"] == {"<EMAIL>": "vip"}
    drops = pq.read_table(res.dataset.path / "drops.parquet").to_pylist()
    assert {(d["id"], d["reason"], d["duplicate_of"]) for d in drops} == {
        ("p.jsonl:4", "exact_duplicate", "p.jsonl:1"),
        ("p.jsonl:5", "too_short", None),
    }
    assert res.report["pii_replaced"] == {"EMAIL": 3, "PHONE": 3}
    # Nothing of the dataset version holds any of them: splits, drops, report.
    written = "".join(
        str(pq.read_table(f).to_pylist()) if f.suffix == ".parquet" else f.read_text()
        for f in res.dataset.path.iterdir()
    )
    for personal in ("zhang.wei", "wang.wu", "li.si", "zhao.liu", "13812345678", "138 1234"):
        assert personal not in written


def test_without_pii_scrubbing_ids_and_fields_stay(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    text = "Please send the invoice for my last order to the address in my account settings."
    path.write_text(json.dumps({"id": "a@example.com", "text": text, "mail": "a@example.com"}))
    config = CurateConfig(scrub_pii=False, splits=SplitConfig(validation=0, stratify_by=None))
    (doc,) = curate(catalog, [path], "raw", config).dataset.read_split("train")
    assert doc["id"] == "a@example.com" and doc["labels"] == {"mail": "a@example.com"}
