"""What the models routes show, read from the catalog tables in one session per answer:
every version with its run, dataset, parent, aliases and evaluations; the lineage tree
around a model (dataset → run → version → compressed and adapter children); the loss
curves of the runs that made it; and the alias history kept in the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.catalog import EvaluationRecord, latest_by_key
from modelmint.config.clock import utc
from modelmint.store import AuditEntry, Dataset, ModelAlias, ModelVersion, Run, RunMetric

ADMIN = "/admin/v1"
# the files of an evaluation (artifacts/evaluations/<id>/) a browser may open
EVALUATION_FILES = ("report.html", "details.json", "examples.jsonl")
CURVE_METRICS = ("loss", "eval_loss")
MAX_CURVE_POINTS = 500  # per series: enough for a chart, small enough to send
PROMOTE, ROLLBACK = "model_alias.promote", "model_alias.rollback"


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


def dataset_label(ds: Dataset | None) -> str | None:
    return f"{ds.name}:{ds.version}" if ds else None


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


class CatalogTables:
    """The rows the model views need, read once: versions, runs, datasets and aliases."""

    def __init__(self, s: Session) -> None:
        self.versions = {mv.id: mv for mv in s.scalars(select(ModelVersion))}
        self.runs = {r.id: r for r in s.scalars(select(Run))}
        self.datasets = {d.id: d for d in s.scalars(select(Dataset))}
        self.aliases: dict[int, list[ModelAlias]] = {}
        for a in s.scalars(select(ModelAlias).order_by(ModelAlias.alias)):
            self.aliases.setdefault(a.model_version_id, []).append(a)
        self.children: dict[int, list[int]] = {}
        for mv in sorted(self.versions.values(), key=lambda m: (m.name, m.version)):
            if mv.parent_id is not None:
                self.children.setdefault(mv.parent_id, []).append(mv.id)

    def label(self, model_id: int | None) -> str | None:
        mv = self.versions.get(model_id) if model_id is not None else None
        return f"{mv.name}:{mv.version}" if mv else None

    def run_ref(self, mv: ModelVersion) -> RunRef | None:
        run = self.runs.get(mv.run_id) if mv.run_id is not None else None
        return RunRef(id=run.id, kind=run.kind, status=run.status) if run else None

    def dataset_of(self, mv: ModelVersion) -> str | None:
        run = self.runs.get(mv.run_id) if mv.run_id is not None else None
        return dataset_label(self.datasets.get(run.dataset_id)) if run and run.dataset_id else None

    def of_name(self, name: str) -> list[ModelVersion]:
        return sorted(
            (m for m in self.versions.values() if m.name == name), key=lambda m: m.version
        )

    def ancestors(self, model_id: int) -> list[int]:
        out: list[int] = []
        seen, current = {model_id}, self.versions[model_id].parent_id
        while current is not None and current in self.versions and current not in seen:
            out.append(current)
            seen.add(current)
            current = self.versions[current].parent_id
        return out

    def descendants(self, model_id: int) -> set[int]:
        out: set[int] = set()
        todo = [model_id]
        while todo:
            for child in self.children.get(todo.pop(), []):
                if child not in out:
                    out.add(child)
                    todo.append(child)
        return out


def version_summary(
    t: CatalogTables,
    mv: ModelVersion,
    evaluations: list[EvaluationRecord],
    serving: ServingState,
) -> VersionSummary:
    size = mv.metrics.get("size_bytes") if isinstance(mv.metrics, dict) else None
    return VersionSummary(
        id=mv.id,
        name=mv.name,
        version=mv.version,
        label=f"{mv.name}:{mv.version}",
        kind=mv.kind,
        num_parameters=mv.num_parameters,
        size_bytes=int(size) if isinstance(size, int | float) else dir_size(Path(mv.path)),
        created_at=utc(mv.created_at),
        parent=t.label(mv.parent_id),
        run=t.run_ref(mv),
        dataset=t.dataset_of(mv),
        aliases=[a.alias for a in t.aliases.get(mv.id, [])],
        evaluations=[evaluation_summary(r) for r in latest_by_key(evaluations)],
        serving=serving,
    )


def lineage(t: CatalogTables, name: str) -> list[LineageNode]:
    """Trees from the oldest ancestor of each version of ``name`` down to every descendant,
    keeping only versions on a line through ``name`` (not every fine-tune of a shared base)."""
    own = [mv.id for mv in t.of_name(name)]
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
        mv = t.versions[mid]
        kids = [c for c in t.children.get(mid, []) if c in keep and c not in seen]
        return LineageNode(
            model=f"{mv.name}:{mv.version}",
            model_version_id=mid,
            kind=mv.kind,
            this_model=mv.name == name,
            run=t.run_ref(mv),
            dataset=t.dataset_of(mv),
            children=[node(c, seen | {c}) for c in kids],
        )

    return [node(r, frozenset({r})) for r in roots]


def thin(points: list[tuple[int, float]], limit: int = MAX_CURVE_POINTS) -> list[CurvePoint]:
    """At most ``limit`` points, evenly spaced, always keeping the last."""
    if len(points) > limit:
        stride = -(-len(points) // limit)
        points = points[::stride] + ([points[-1]] if (len(points) - 1) % stride else [])
    return [CurvePoint(step=s, value=v) for s, v in points]


def loss_curves(s: Session, t: CatalogTables, versions: Iterable[ModelVersion]) -> list[LossCurve]:
    by_run = {mv.run_id: f"{mv.name}:{mv.version}" for mv in versions if mv.run_id is not None}
    if not by_run:
        return []
    rows = s.execute(
        select(RunMetric.run_id, RunMetric.name, RunMetric.step, RunMetric.value)
        .where(RunMetric.run_id.in_(by_run), RunMetric.name.in_(CURVE_METRICS))
        .order_by(RunMetric.id)
    )
    found: dict[int, dict[str, dict[int, float]]] = {}
    for run_id, metric, step, value in rows:
        found.setdefault(run_id, {}).setdefault(metric, {})[step] = value  # latest wins
    return [
        LossCurve(
            model=by_run[run_id],
            run_id=run_id,
            series={m: thin(sorted(points.items())) for m, points in series.items()},
        )
        for run_id, series in sorted(found.items())
    ]


def alias_target(name: str, alias: str) -> str:
    return f"model_alias:{name}@{alias}"


def alias_history(s: Session, name: str) -> list[AliasEvent]:
    """Promotions and rollbacks of ``name``'s aliases, newest first."""
    rows = s.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action.in_((PROMOTE, ROLLBACK)),
            AuditEntry.target.startswith(f"model_alias:{name}@", autoescape=True),
        )
        .order_by(AuditEntry.id.desc())
        .limit(200)
    )
    return [
        AliasEvent(
            alias=e.target.partition("@")[2],
            action=e.action.rpartition(".")[2],
            from_version=(e.before or {}).get("version"),
            to_version=(e.after or {}).get("version"),
            actor=e.actor,
            at=utc(e.created_at),
        )
        for e in rows
    ]


def rollback_target(entries: Iterable[AuditEntry]) -> int | None:
    """The version a rollback restores, from the alias's audit entries newest first: the
    version before the latest promotion not yet undone (each rollback undoes one)."""
    undone = 0
    for e in entries:
        if e.action == ROLLBACK:
            undone += 1
        elif e.action == PROMOTE:
            if undone:
                undone -= 1
                continue
            before = (e.before or {}).get("version")
            return int(before) if isinstance(before, int) else None
    return None


def alias_entries(s: Session, name: str, alias: str) -> list[AuditEntry]:
    return list(
        s.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.action.in_((PROMOTE, ROLLBACK)),
                AuditEntry.target == alias_target(name, alias),
            )
            .order_by(AuditEntry.id.desc())
        )
    )


def alias_states(s: Session, t: CatalogTables, name: str) -> list[AliasState]:
    out = []
    for mv in t.of_name(name):
        for a in t.aliases.get(mv.id, []):
            out.append(
                AliasState(
                    alias=a.alias,
                    version=mv.version,
                    updated_at=utc(a.updated_at),
                    rollback_to=rollback_target(alias_entries(s, name, a.alias)),
                )
            )
    return sorted(out, key=lambda a: a.alias)
