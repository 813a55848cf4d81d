"""``mint models``: versions, aliases, lineage, and folding an adapter into its base."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from modelmint.catalog import CatalogError
from modelmint.cli.common import JSON_OUTPUT, console, when, when_json
from modelmint.cli.models_export import models_export
from modelmint.cli.models_import import models_import
from modelmint.cli.runtime import Runtime, cli_actor

if TYPE_CHECKING:
    from modelmint.catalog import Catalog, EvaluationRecord, ModelRef

models_app = typer.Typer(help="Model versions, aliases and lineage.", no_args_is_help=True)
models_app.command("export")(models_export)
models_app.command("import")(models_import)


@models_app.command("list")
def models_list(as_json: bool = JSON_OUTPUT) -> None:
    """Name, version, aliases, parameters, perplexity, source dataset and the headline metrics
    of the latest evaluation of each suite, for every version."""
    from modelmint.catalog import latest_by_key

    catalog = Runtime.open().catalog
    rows = catalog.list_models()
    evaluations: dict[int, list[EvaluationRecord]] = {}
    for e in latest_by_key(catalog.evaluations.list()):
        evaluations.setdefault(e.model_id, []).append(e)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "name": r.model.name,
                        "version": r.model.version,
                        "aliases": r.aliases,
                        "parameters": r.model.num_parameters,
                        "metrics": r.model.metrics,
                        "dataset": r.dataset,
                        "path": str(r.model.path),
                        "provenance": r.model.provenance,
                        "evaluations": [
                            {
                                "id": e.id,
                                "suite": e.suite,
                                "dataset": e.dataset,
                                "split": e.split,
                                "metrics": e.metrics,
                            }
                            for e in evaluations.get(r.model.id, [])
                        ],
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table("name", "version", "alias", "parameters", "perplexity", "dataset", "evaluations")
    for r in rows:
        ppl = r.model.metrics.get("perplexity")
        table.add_row(
            r.model.name,
            str(r.model.version),
            ", ".join(r.aliases),
            f"{r.model.num_parameters / 1e6:.1f}M",
            f"{ppl:.2f}" if isinstance(ppl, int | float) else "-",
            r.dataset or "-",
            _latest_per_suite(evaluations.get(r.model.id, [])),
        )
    console.print(table)


def _latest_per_suite(records: list[EvaluationRecord]) -> str:
    """The headline of the newest evaluation of each suite."""
    from modelmint.evaluation import headline

    newest = {e.suite: e for e in sorted(records, key=lambda e: e.id)}
    return "\n".join(headline(e.suite, e.metrics) for e in newest.values()) or "-"


@models_app.command("show")
def models_show(spec: str = typer.Argument(..., help="NAME, NAME:VERSION or NAME@ALIAS")) -> None:
    """A model version with its lineage (run and dataset), and where an imported one came
    from (its provenance)."""
    rt = Runtime.open()
    m = rt.catalog.resolve_model(spec)
    print(
        json.dumps(
            {
                "path": str(m.path),
                "parameters": m.num_parameters,
                "metrics": m.metrics,
                "lineage": rt.catalog.lineage(m),
                "provenance": m.provenance,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


@models_app.command("alias")
def models_alias(name: str, version: int, alias: str) -> None:
    """Point NAME@ALIAS at VERSION (audited: the console's history and rollback see it)."""
    Runtime.open().catalog.aliases.promote(name, alias, version, actor=cli_actor())
    console.print(f"{name}@{alias} -> {name}:{version}")


@models_app.command("rollback")
def models_rollback(name: str, alias: str) -> None:
    """Put NAME@ALIAS back on the version it named before its latest promotion (audited)."""
    move = Runtime.open().catalog.aliases.rollback(name, alias, actor=cli_actor())
    console.print(f"{name}@{alias} -> {name}:{move.version} (was {name}:{move.previous})")


@models_app.command("history")
def models_history(name: str, as_json: bool = JSON_OUTPUT) -> None:
    """Every promotion and rollback of NAME's aliases, newest first, and who made it."""
    entries = Runtime.open().catalog.aliases.history(name)
    if as_json:
        rows = [
            {
                "alias": e.alias,
                "action": e.action,
                "from_version": e.from_version,
                "to_version": e.to_version,
                "actor": e.actor,
                "at": when_json(e.at),
            }
            for e in entries
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("when", "alias", "action", "from", "to", "actor")
    for e in entries:
        table.add_row(
            when(e.at), e.alias, e.action, str(e.from_version or "-"), str(e.to_version), e.actor
        )
    console.print(table)


@models_app.command("merge")
def models_merge(
    spec: str = typer.Argument(..., help="The adapter: NAME, NAME:VERSION or NAME@ALIAS."),
    name: str | None = typer.Option(None, help="Register the merged model under this name."),
    alias: str | None = typer.Option(None, help="Point this alias at the merged version."),
) -> None:
    """Fold a LoRA adapter into its base: a plain model that serves without peft."""
    rt = Runtime.open()
    adapter = rt.catalog.resolve_model(spec)
    if adapter.kind != "adapter":
        raise CatalogError(f"{adapter.label} is a {adapter.kind}, not a LoRA adapter")
    staged = rt.catalog.staging_dir("model")
    task = merge_into(rt, adapter, staged)
    target = name or adapter.name
    merged = rt.catalog.add_model_version(
        target,
        staged,
        run_id=adapter.run_id,
        kind=task,
        num_parameters=adapter.num_parameters,
        metrics=adapter.metrics,
        parent_id=adapter.id,
    )
    if alias:
        rt.catalog.aliases.promote(target, alias, merged.version, actor=cli_actor())
    console.print(
        f"[green]✓[/] merged {adapter.label} into its base: {merged.label} ({merged.kind})"
    )


def merge_into(rt: Runtime, adapter: ModelRef, out_dir: Path) -> str:
    """Writes the adapter folded into its base to ``out_dir``; returns the model's kind."""
    from modelmint.modeling.encoders import MINILM, minilm_path
    from modelmint.training.adapters import merge_adapter

    facts = json.loads((adapter.path / "modelmint.json").read_text())
    if adapter.parent_id is not None:
        base = rt.catalog.get_model(adapter.parent_id)
        base_dir, base_kind = base.path, base.kind
    else:  # trained on a base outside the catalog (a directory, or the bundled encoder)
        base = facts["base"]
        base_dir = minilm_path() if base == MINILM else Path(base)
        base_kind = facts.get("task") or ""
    task = str(facts.get("task") or base_kind)
    merge_adapter(adapter.path, base_dir, out_dir, task=task)
    shutil.copy2(adapter.path / "modelmint.json", out_dir / "modelmint.json")
    return task


def bundled_encoder(catalog: Catalog) -> ModelRef:
    """The MiniLM encoder as a catalog version (copied in once), so its embeddings are
    metered against a model version like any other model's tokens."""
    from modelmint.modeling import count_parameters
    from modelmint.modeling.encoders import MINILM, load_encoder, minilm_path

    try:
        return catalog.resolve_model(MINILM)
    except CatalogError:
        pass
    staged = catalog.staging_dir("model")
    shutil.copytree(minilm_path(), staged, dirs_exist_ok=True)
    model, _ = load_encoder(staged)
    return catalog.add_model_version(
        MINILM,
        staged,
        run_id=None,
        kind="encoder",
        num_parameters=count_parameters(model),
        metrics={},
    )
