"""Finished labels out as a new dataset version: the project's records with their final
label (majority of the annotators) in a ``label`` column and in ``labels[label_key]``, so a
training recipe reads it like any other label. Ties and unfinished items are left out and
counted."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from modelmint.catalog import DOCUMENT_SCHEMA, Catalog, DatasetRef
from modelmint.labeling.annotations import final_labels
from modelmint.labeling.projects import LabelingError, LabelProjects
from modelmint.store import LabelItem, Store

EXPORT_SCHEMA = DOCUMENT_SCHEMA.append(pa.field("label", pa.string()))


@dataclass(frozen=True)
class ExportResult:
    dataset: DatasetRef
    created: bool
    exported: int
    ties: int
    unfinished: int


def label_text(value: Any) -> str:
    """The ``label`` column: a label as is, anything else (ratings, label lists) as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _record_from_content(item: LabelItem) -> dict[str, Any]:
    """A document for an item of an imported project (no dataset version behind it)."""
    content = dict(item.content)
    text = content.get("text")
    return {
        "id": item.external_id or str(item.position),
        "text": text if isinstance(text, str) else json.dumps(content, ensure_ascii=False),
        "messages": None,
        "labels": {},
        "lang": "",
        "source": "",
    }


def export_labels(
    store: Store,
    catalog: Catalog,
    project: str,
    name: str,
    *,
    label_key: str = "label",
) -> ExportResult:
    projects = LabelProjects(store, catalog)
    info = projects.get(project)
    final = final_labels(store, project)
    if not final.labels:
        raise LabelingError(
            f"project {project!r} has no finished labels yet ({len(final.unfinished)} "
            f"unfinished, {len(final.ties)} tied); label more items before exporting"
        )
    with store.session() as s:
        items = {
            i.id: i for i in s.scalars(select(LabelItem).where(LabelItem.project_id == info.id))
        }
    ref = projects.dataset(info)
    records = ref.read_split(info.split) if ref is not None and info.split else None
    rows: list[dict[str, Any]] = []
    for item_id in sorted(final.labels, key=lambda i: items[i].position):
        item = items[item_id]
        record = dict(records[item.position]) if records is not None else _record_from_content(item)
        value = final.labels[item_id]
        record["labels"] = json.dumps(
            {**(record.get("labels") or {}), label_key: label_text(value)},
            ensure_ascii=False,
            sort_keys=True,
        )
        record["label"] = label_text(value)
        rows.append({k: record.get(k) for k in EXPORT_SCHEMA.names})
    split = info.split or "train"
    table = pa.Table.from_pylist(rows, schema=EXPORT_SCHEMA)
    digest = hashlib.sha256(
        json.dumps([project, split, rows], ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()
    staged = catalog.staging_dir("dataset")
    try:
        pq.write_table(table, staged / f"{split}.parquet")
        report = {
            "project": project,
            "kind": info.kind,
            "dataset": info.dataset,
            "split": split,
            "exported": len(rows),
            "ties": len(final.ties),
            "unfinished": len(final.unfinished),
        }
        (staged / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
        source = f"label project {project}" + (
            f" over {info.dataset} {split}" if info.dataset else ""
        )
        dataset, created = catalog.add_dataset(
            name,
            staged,
            content_hash=digest,
            num_records=len(rows),
            splits={split: len(rows)},
            source=source,
        )
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return ExportResult(dataset, created, len(rows), len(final.ties), len(final.unfinished))
