"""What the models routes show, shaped from the catalog's read models (``Catalog.queries``,
``Catalog.aliases``): every version with its run, dataset, parent, aliases and evaluations;
the lineage tree around a model (dataset → run → version → compressed and adapter
children); the loss curves of the runs that made it; and the alias history kept in the
audit log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from modelmint.catalog import (
    AliasEntry,
    AliasStatus,
    Catalog,
    EvaluationRecord,
    ModelGraph,
    RunBrief,
    VersionNode,
    latest_by_key,
)
from modelmint.config.clock import utc

ADMIN = "/admin/v1"
# the files of an evaluation (artifacts/evaluations/<id>/) a browser may open
EVALUATION_FILES = ("report.html", "details.json", "examples.jsonl")
CURVE_METRICS = ("loss", "eval_loss")
MAX_CURVE_POINTS = 500  # per series: enough for a chart, small enough to send


class RunRef(BaseModel):
    id: int
    kind: str
    status: str


class EvaluationSummary(BaseModel):
    id: int
    model: str = Field(description="NAME:VERSION of the evaluated version")
    suite: str
    dataset: str | None
    split: str | None
    metrics: dict[str, float] = Field(description="The numeric metrics")
    options: dict[str, Any]
    created_at: datetime
    files: dict[str, str] = Field(description="File name -> URL (report.html, details.json…)")


class ServingState(BaseModel):
    loaded: bool = Field(description="This server has an engine for this version")
    names: list[str] = Field(description="The names it answers on this server")
    canary_for: list[str] = Field(description="Served names it takes a canary share of")


class VersionSummary(BaseModel):
    id: int
    name: str
    version: int
    label: str
    kind: str
    num_parameters: int
    size_bytes: int | None
    created_at: datetime
    parent: str | None = Field(description="NAME:VERSION it was made from")
    run: RunRef | None
    dataset: str | None = Field(description="NAME:VERSION the run read")
    aliases: list[str]
    evaluations: list[EvaluationSummary] = Field(description="Latest of each measurement")
    serving: ServingState


class LineageNode(BaseModel):
    model: str
    model_version_id: int
    kind: str
    this_model: bool = Field(description="A version of the model asked about")
    run: RunRef | None
    dataset: str | None
    children: list[LineageNode]


class CurvePoint(BaseModel):
    step: int
    value: float


class LossCurve(BaseModel):
    model: str
    run_id: int
    series: dict[str, list[CurvePoint]]


class AliasEvent(BaseModel):
    alias: str
    action: str = Field(description="promote or rollback")
    from_version: int | None
    to_version: int | None
    actor: str
    at: datetime


class AliasState(BaseModel):
    alias: str
    version: int
    updated_at: datetime
    rollback_to: int | None = Field(description="The version a rollback would restore")


def dir_size(path: Path) -> int | None:
    if not path.is_dir():
        return None
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def numeric(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def evaluation_summary(r: EvaluationRecord) -> EvaluationSummary:
    name = r.model.rpartition(":")[0]
    base = f"{ADMIN}/models/{name}/evaluations/{r.id}"
    return EvaluationSummary(
        id=r.id,
        model=r.model,
        suite=r.suite,
        dataset=r.dataset,
        split=r.split,
        metrics=numeric(r.metrics),
        options=r.options,
        created_at=utc(r.created_at),
        files={f: f"{base}/{f}" for f in EVALUATION_FILES if (r.path / f).is_file()},
    )


def run_ref(run: RunBrief | None) -> RunRef | None:
    return RunRef(id=run.id, kind=run.kind, status=run.status) if run else None


def version_summary(
    v: VersionNode, evaluations: list[EvaluationRecord], serving: ServingState
) -> VersionSummary:
    mv = v.model
    size = mv.metrics.get("size_bytes")
    return VersionSummary(
        id=mv.id,
        name=mv.name,
        version=mv.version,
        label=mv.label,
        kind=mv.kind,
        num_parameters=mv.num_parameters,
        size_bytes=int(size) if isinstance(size, int | float) else dir_size(mv.path),
        created_at=v.created_at,
        parent=v.parent,
        run=run_ref(v.run),
        dataset=v.dataset,
        aliases=list(v.aliases),
        evaluations=[evaluation_summary(r) for r in latest_by_key(evaluations)],
        serving=serving,
    )


def lineage(t: ModelGraph, name: str) -> list[LineageNode]:
    """Trees from the oldest ancestor of each version of ``name`` down to every descendant,
    keeping only versions on a line through ``name`` (not every fine-tune of a shared base)."""
    own = [v.model.id for v in t.of_name(name)]
    keep = set(own)
    roots: list[int] = []
    for mid in own:
        up = t.ancestors(mid)
        keep.update(up)
        keep.update(t.descendants(mid))
        root = up[-1] if up else mid
        if root not in roots:
            roots.append(root)

    def node(mid: int, seen: frozenset[int]) -> LineageNode:
        v = t.versions[mid]
        kids = [c for c in t.children.get(mid, []) if c in keep and c not in seen]
        return LineageNode(
            model=v.model.label,
            model_version_id=mid,
            kind=v.model.kind,
            this_model=v.model.name == name,
            run=run_ref(v.run),
            dataset=v.dataset,
            children=[node(c, seen | {c}) for c in kids],
        )

    return [node(r, frozenset({r})) for r in roots]


def thin(points: list[tuple[int, float]], limit: int = MAX_CURVE_POINTS) -> list[CurvePoint]:
    """At most ``limit`` points, evenly spaced, always keeping the last."""
    if len(points) > limit:
        stride = -(-len(points) // limit)
        points = points[::stride] + ([points[-1]] if (len(points) - 1) % stride else [])
    return [CurvePoint(step=s, value=v) for s, v in points]


def loss_curves(catalog: Catalog, versions: Iterable[VersionNode]) -> list[LossCurve]:
    by_run = {v.model.run_id: v.model.label for v in versions if v.model.run_id is not None}
    found = catalog.queries.metric_series(by_run, names=CURVE_METRICS)
    return [
        LossCurve(
            model=by_run[run_id],
            run_id=run_id,
            series={m: thin(points) for m, points in series.items()},
        )
        for run_id, series in sorted(found.items())
    ]


def alias_event(e: AliasEntry) -> AliasEvent:
    return AliasEvent(
        alias=e.alias,
        action=e.action,
        from_version=e.from_version,
        to_version=e.to_version,
        actor=e.actor,
        at=e.at,
    )


def alias_state(a: AliasStatus) -> AliasState:
    return AliasState(
        alias=a.alias, version=a.version, updated_at=a.updated_at, rollback_to=a.rollback_to
    )
