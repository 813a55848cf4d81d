"""What every compression shares: the source model it starts from, and registering its
result as a new model version whose parent is that source, made by a catalog run that read
the same dataset the source's lineage did."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelmint.catalog import Catalog, CatalogError, ModelRef
from modelmint.errors import UserError
from modelmint.modeling import load_tokenizer
from modelmint.modeling.quantized import is_int8_dir


class CompressionError(UserError, ValueError):
    """A compression that cannot run as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Compressed:
    model: ModelRef  # the new version
    source: ModelRef  # the version it was made from (its parent)
    facts: dict[str, Any]  # what was done: method, bits, sparsity, ...


def directory_bytes(path: Path) -> int:
    """Size on disk of a model directory: weights, config and tokenizer."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def check_source(model: ModelRef) -> None:
    if model.kind != "causal-lm":
        hint = (
            f"; fold the adapter into its base first with `mint models merge {model.label}`"
            if model.kind == "adapter"
            else ""
        )
        raise CompressionError(
            f"{model.label} is a {model.kind} model; compression works on causal LMs{hint}"
        )
    config = model.path / "config.json"
    if not config.exists():
        raise CompressionError(f"{model.label}: no config.json in {model.path}")
    if is_int8_dir(model.path) or "quantization_config" in json.loads(config.read_text()):
        raise CompressionError(
            f"{model.label} is already quantized; compress its float parent instead"
        )


def _lineage_dataset_id(catalog: Catalog, model: ModelRef) -> int | None:
    if model.run_id is None:
        return None
    try:
        return catalog.get_run(model.run_id).dataset_id
    except CatalogError:
        return None


def default_name(source: ModelRef, tag: str) -> str:
    return f"{source.name}-{tag}"[:100]


def compress_to_version(
    catalog: Catalog,
    source: ModelRef,
    *,
    name: str,
    facts: dict[str, Any],
    write: Callable[[Path], int],
) -> Compressed:
    """Runs ``write(directory)`` (which saves the compressed model there and returns its
    parameter count) inside a catalog run ``compress:<method>``, then registers the directory
    as a new version of ``name`` with ``parent_id`` = the source."""
    run_id = catalog.start_run(
        f"compress:{facts['method']}",
        dataset_id=_lineage_dataset_id(catalog, source),
        config={"source": source.label, **facts},
    )
    staged = catalog.staging_dir("model")
    try:
        num_parameters = write(staged)
        load_tokenizer(source.path).save_pretrained(str(staged))
        parent_facts = source.path / "modelmint.json"
        inherited = json.loads(parent_facts.read_text()) if parent_facts.exists() else {}
        record = {
            **{k: v for k, v in inherited.items() if k in ("dataset", "task")},
            "name": name,
            "run": run_id,
            "parent": source.label,
            "compression": facts,
        }
        (staged / "modelmint.json").write_text(json.dumps(record, indent=2))
        metrics = {
            **{k: v for k, v in facts.items() if isinstance(v, int | float | str)},
            "size_bytes": directory_bytes(staged),
        }
        model = catalog.add_model_version(
            name,
            staged,
            run_id=run_id,
            kind=source.kind,
            num_parameters=num_parameters,
            metrics=metrics,
            parent_id=source.id,
        )
    except BaseException as e:
        shutil.rmtree(staged, ignore_errors=True)
        catalog.fail_run(run_id, f"{type(e).__name__}: {e}")
        raise
    catalog.finish_run(run_id, metrics=metrics, output_path=model.path)
    return Compressed(model, source, facts)
