"""A registration that fails leaves nothing behind: not the staged directory, not what was
moved into artifacts/ before the database refused the row, and no version is recorded."""

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, StatementError

from modelmint.catalog import Catalog, CatalogError
from modelmint.store import Store


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    return Catalog(store, tmp_path / "artifacts")


def _stage(catalog: Catalog, kind: str) -> Path:
    d = catalog.staging_dir(kind)
    (d / "weights.bin").write_bytes(b"\x00" * 64)
    return d


def _left(catalog: Catalog, sub: str) -> list[Path]:
    """Every file (not directory) under artifacts/<sub>."""
    root = catalog.artifacts_dir / sub
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_model_the_database_refuses_leaves_no_directory(catalog: Catalog) -> None:
    staged = _stage(catalog, "model")
    with pytest.raises(IntegrityError):  # no such parent: the row is refused after the move
        catalog.add_model_version(
            "m",
            staged,
            run_id=None,
            kind="causal-lm",
            num_parameters=1,
            metrics={},
            parent_id=987_654,
        )
    assert not staged.exists()
    assert _left(catalog, "models") == [] and _left(catalog, "staging") == []
    assert [m.model.label for m in catalog.list_models()] == []
    # the next registration of the name is version 1, in the place the failed one had
    ref = catalog.add_model_version(
        "m",
        _stage(catalog, "model"),
        run_id=None,
        kind="causal-lm",
        num_parameters=1,
        metrics={},
    )
    assert ref.version == 1 and ref.path == catalog.artifacts_dir / "models" / "m" / "v1"


def test_a_bad_name_leaves_no_staging_directory(catalog: Catalog) -> None:
    model, dataset = _stage(catalog, "model"), _stage(catalog, "dataset")
    with pytest.raises(CatalogError, match="invalid name"):
        catalog.add_model_version(
            "no/slashes", model, run_id=None, kind="causal-lm", num_parameters=1, metrics={}
        )
    with pytest.raises(CatalogError, match="invalid name"):
        catalog.add_dataset("no spaces", dataset, content_hash="h", num_records=1, splits={})
    assert not model.exists() and not dataset.exists()
    assert _left(catalog, "staging") == []


def test_a_dataset_the_database_refuses_leaves_no_directory(catalog: Catalog) -> None:
    staged = _stage(catalog, "dataset")
    # a value JSON cannot hold: refused at the insert (SQLite's driver wraps the error)
    with pytest.raises((StatementError, TypeError)):
        catalog.add_dataset(
            "d", staged, content_hash="h", num_records=1, splits={"train": object()}
        )
    assert not staged.exists()
    assert _left(catalog, "datasets") == [] and _left(catalog, "staging") == []
    assert catalog.list_datasets() == []


def test_an_evaluation_the_database_refuses_leaves_no_directory(catalog: Catalog) -> None:
    model = catalog.add_model_version(
        "m",
        _stage(catalog, "model"),
        run_id=None,
        kind="causal-lm",
        num_parameters=1,
        metrics={},
    )
    staged = _stage(catalog, "evaluation")
    with pytest.raises(IntegrityError):  # no such dataset
        catalog.evaluations.add(
            model.id,
            staged,
            suite="s",
            dataset="d:1",
            dataset_id=987_654,
            dataset_hash="h",
            split="test",
            options={},
            metrics={},
        )
    assert not staged.exists()
    assert _left(catalog, "evaluations") == [] and _left(catalog, "staging") == []
    assert catalog.evaluations.list() == []
