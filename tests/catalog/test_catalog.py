from pathlib import Path

import pytest

from modelmint.catalog import Catalog, CatalogError
from modelmint.store import Store


def _stage(catalog: Catalog, content: str) -> Path:
    d = catalog.staging_dir("x")
    (d / "file.txt").write_text(content)
    return d


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    return Catalog(store, tmp_path / "artifacts")


def test_same_content_makes_no_new_dataset_version(catalog: Catalog) -> None:
    a, created_a = catalog.add_dataset(
        "ds", _stage(catalog, "a"), content_hash="h1", num_records=1, splits={"train": 1}
    )
    b, created_b = catalog.add_dataset(
        "ds", _stage(catalog, "a"), content_hash="h1", num_records=1, splits={"train": 1}
    )
    c, _ = catalog.add_dataset(
        "ds", _stage(catalog, "b"), content_hash="h2", num_records=1, splits={"train": 1}
    )
    assert (created_a, created_b) == (True, False)
    assert a.version == b.version == 1 and c.version == 2
    assert (a.path / "file.txt").read_text() == "a"
    assert catalog.get_dataset("ds").version == 2
    assert catalog.get_dataset("ds", 1).content_hash == "h1"


def test_lineage_alias_and_resolution(catalog: Catalog) -> None:
    ds, _ = catalog.add_dataset(
        "corpus", _stage(catalog, "x"), content_hash="h", num_records=3, splits={"train": 3}
    )
    run = catalog.start_run("pretrain", dataset_id=ds.id, config={"lr": 1})
    m1 = catalog.add_model_version(
        "m",
        _stage(catalog, "w1"),
        run_id=run,
        kind="causal-lm",
        num_parameters=10,
        metrics={"perplexity": 5.0},
    )
    catalog.finish_run(run, metrics={"loss": 1.0}, output_path=m1.path)
    m2 = catalog.add_model_version(
        "m", _stage(catalog, "w2"), run_id=None, kind="causal-lm", num_parameters=10, metrics={}
    )
    catalog.aliases.promote("m", "production", 1, actor="test")

    assert catalog.resolve_model("m").version == 2
    assert catalog.resolve_model("m:1").id == m1.id
    assert catalog.resolve_model("m@production").id == m1.id
    catalog.aliases.promote("m", "production", 2, actor="test")
    assert catalog.resolve_model("m@production").id == m2.id

    lineage = catalog.lineage(m1)
    assert lineage["dataset"] == {"name": "corpus", "version": 1, "content_hash": "h"}
    assert lineage["run"]["kind"] == "pretrain" and lineage["run"]["status"] == "succeeded"

    listing = {(r.model.name, r.model.version): r for r in catalog.list_models()}
    assert listing[("m", 1)].dataset == "corpus:1"
    assert listing[("m", 2)].aliases == ["production"]
    assert listing[("m", 1)].aliases == []


@pytest.mark.parametrize("spec", ["nope", "m:9", "m@nothing", "bad spec!"])
def test_unknown_models_are_clear_errors(catalog: Catalog, spec: str) -> None:
    catalog.add_model_version(
        "m", _stage(catalog, "w"), run_id=None, kind="causal-lm", num_parameters=1, metrics={}
    )
    with pytest.raises(CatalogError):
        catalog.resolve_model(spec)


def test_alias_to_missing_version_is_refused(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="no model m:3"):
        catalog.aliases.promote("m", "production", 3, actor="test")


def test_a_leftover_directory_is_never_overwritten(catalog: Catalog) -> None:
    leftover = catalog.artifacts_dir / "models" / "m" / "v1"
    leftover.mkdir(parents=True)
    (leftover / "keep.txt").write_text("from a crashed run")
    ref = catalog.add_model_version(
        "m", _stage(catalog, "new"), run_id=None, kind="causal-lm", num_parameters=1, metrics={}
    )
    assert ref.version == 1 and ref.path != leftover
    assert (ref.path / "file.txt").read_text() == "new"
    assert (leftover / "keep.txt").read_text() == "from a crashed run"
