import json
from pathlib import Path

import pytest

from modelmint.catalog import Catalog
from modelmint.data import DataError, ingest_dialogues
from modelmint.data.sample import write_sample_corpus
from modelmint.store import Store


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    return Catalog(store, tmp_path / "artifacts")


def test_sample_ingests_into_a_split_versioned_dataset(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "sample.jsonl"
    truth = write_sample_corpus(path, n_dialogues=1000, seed=1)
    first = ingest_dialogues(catalog, path, "cs")
    again = ingest_dialogues(catalog, path, "cs")
    ds = first.dataset
    assert first.created and not again.created and again.dataset.id == ds.id
    assert ds.num_records == 1000 and sum(ds.splits.values()) == 1000
    assert 20 <= ds.splits["validation"] <= 90
    train, val = ds.read_split("train"), ds.read_split("validation")
    assert {r["id"] for r in train}.isdisjoint({r["id"] for r in val})
    # An exact duplicate is never split from its original: held-out stays held out.
    side = {r["id"]: "v" for r in val} | {r["id"]: "t" for r in train}
    assert all(side[a] == side[b] for a, b in truth.exact_duplicates)
    assert any(r["lang"] == "zh" for r in train) and train[0]["messages"][0]["role"] == "user"


def test_new_content_is_a_new_version(catalog: Catalog, tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_sample_corpus(a, n_dialogues=50, seed=1)
    write_sample_corpus(b, n_dialogues=50, seed=2)
    assert ingest_dialogues(catalog, a, "cs").dataset.version == 1
    assert ingest_dialogues(catalog, b, "cs").dataset.version == 2


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"messages": [{"role": "user", "content": "hi"}', "invalid JSON"),
        ('{"text": "no messages"}', "'messages'"),
        ('{"messages": [{"role": "robot", "content": "hi"}]}', "messages[0]"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_line_names_file_line_and_field_and_stores_nothing(
    catalog: Catalog, tmp_path: Path, line: str, problem: str
) -> None:
    good = json.dumps({"messages": [{"role": "user", "content": "你好"}]}, ensure_ascii=False)
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{good}\n{good}\n{line}\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        ingest_dialogues(catalog, path, "bad")
    assert f"{path}:3:" in str(e.value) and problem in str(e.value)
    with pytest.raises(Exception, match="no dataset"):
        catalog.get_dataset("bad")
