"""``mint data``: sample, ingest (curate), stats, list."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.table import Table

from modelmint.cli.common import JSON_OUTPUT, console
from modelmint.cli.progress import RichProgress
from modelmint.cli.runtime import Runtime
from modelmint.errors import UserError

data_app = typer.Typer(help="Datasets: sample, ingest, stats, list.", no_args_is_help=True)


@data_app.command("sample")
def data_sample(
    out: Path = typer.Argument(..., help="JSONL file to write."),
    n: int = typer.Option(6000, help="Number of dialogues."),
    seed: int = typer.Option(0, help="Random seed (same seed, same corpus)."),
) -> None:
    """Write the synthetic bilingual customer-service corpus."""
    from modelmint.samples import write_sample_corpus

    truth = write_sample_corpus(out, n_dialogues=n, seed=seed)
    console.print(
        f"wrote {n} synthetic dialogues to {out} "
        f"(truth of planted duplicates and PII in {out.with_suffix('.truth.json')}; "
        f"{len(truth.pii)} records with PII)"
    )


@data_app.command("ingest")
def data_ingest(
    paths: list[str] = typer.Argument(..., help="Files, directories or globs (.gz/.zst too)."),
    name: str = typer.Option(..., help="Dataset name."),
    text_field: str = typer.Option("text", help="Field holding the text of plain records."),
    fmt: str = typer.Option("auto", "--format", help="auto, txt, jsonl, csv or parquet."),
    on_error: str = typer.Option("fail", help="fail, or skip (bad records -> rejects file)."),
    quality: str = typer.Option(
        "default",
        "--quality",
        "--preset",
        help="Quality rules: default (tickets, chats, e-mails and other records of your own), "
        "web (Gopher's and C4's rules for web pages) or off.",
    ),
    settings: list[str] = typer.Option(
        [],
        "--set",
        help="Change one quality setting of the preset, e.g. --set min_doc_words=5 "
        "--set c4_terminal_punct=false (none switches a threshold off).",
    ),
    languages: str = typer.Option("zh,en", help="Languages to keep (comma list) or 'all'."),
    pii: bool = typer.Option(True, "--pii/--no-pii", help="Scrub PII with placeholders."),
    dedup: bool = typer.Option(True, "--dedup/--no-dedup", help="Exact + near dedup."),
    near_threshold: float = typer.Option(0.8, help="MinHash Jaccard threshold."),
    validation: float = typer.Option(0.05, help="Fraction for the validation split."),
    test: float = typer.Option(0.0, help="Fraction for the test split."),
    stratify_by: str = typer.Option("auto", help="Label to stratify by, 'auto' or 'none'."),
    decontaminate: bool = typer.Option(True, "--decontaminate/--no-decontaminate"),
    num_proc: int = typer.Option(
        0, help="Worker processes for filtering and hashing (0: one per CPU core)."
    ),
    memory_mb: float = typer.Option(
        256, help="Memory for de-duplication's sorts; the corpus size does not add to it."
    ),
    executor: str = typer.Option(
        "local",
        help="Where the tasks run: local (this machine's processes) or ray (a Ray cluster; "
        "pip install 'modelmint[ray]').",
    ),
    ray_address: str | None = typer.Option(
        None,
        help="The Ray cluster to join ('auto' finds a running one); without it, --executor "
        "ray starts a Ray instance on this machine.",
    ),
) -> None:
    """Curate files into a new immutable dataset version (same input, same version)."""
    from modelmint.data import CurateConfig, NearDupConfig, QualityConfig, SplitConfig, curate
    from modelmint.data.executors import make_executor
    from modelmint.data.quality_config import with_settings

    rt = Runtime.open()
    presets = {"default": QualityConfig(), "web": QualityConfig.web(), "off": None}
    if quality not in presets:
        raise UserError(f"--quality must be default, web or off, not {quality!r}")
    quality_config = presets[quality]
    if settings:
        if quality_config is None:
            raise UserError("--set changes a quality preset's settings: use it with default or web")
        quality_config = with_settings(quality_config, settings)
    if on_error not in ("fail", "skip"):
        raise UserError(f"--on-error must be fail or skip, not {on_error!r}")
    config = CurateConfig(
        format=fmt,
        text_field=text_field,
        on_error=on_error,  # type: ignore[arg-type]
        quality=quality_config,
        languages=None if languages == "all" else tuple(languages.split(",")),
        scrub_pii=pii,
        exact_dedup=dedup,
        near_dedup=NearDupConfig(threshold=near_threshold) if dedup else None,
        splits=SplitConfig(
            validation=validation,
            test=test,
            stratify_by=None if stratify_by == "none" else stratify_by,
        ),
        decontaminate=decontaminate,
        num_proc=num_proc or os.cpu_count() or 1,
        memory_mb=memory_mb,
    )
    tasks = make_executor(executor, ray_address)
    with RichProgress(console) as progress:
        res = curate(rt.catalog, paths, name, config, progress=progress, executor=tasks)
    r = res.report
    state = "new version" if res.created else "unchanged input, existing version"
    console.print(
        f"dataset {res.dataset.label} ({state}): read {r['read']}, kept {r['kept']}, "
        f"dropped {r['dropped']}, rejected {r['rejected']}; "
        f"splits {res.dataset.splits}"
    )
    _print_drops(r["drops"], r["read"])
    console.print(f"report: {res.dataset.path / 'report.html'}")


def _print_drops(drops: dict[str, int], read: int) -> None:
    """Records dropped per rule, and a warning naming the rule that dropped most of the input,
    with how to relax it."""
    from modelmint.data.report import dominant_drop, relax_advice

    if drops:
        table = Table("rule", "dropped", "of records read", title="drops per rule")
        for rule, count in drops.items():
            table.add_row(rule, str(count), f"{count / max(read, 1):.0%}")
        console.print(table)
    dominant = dominant_drop(drops, read)
    if dominant is not None:
        rule, count = dominant
        console.print(
            f"[bold yellow]warning:[/] {rule} dropped {count} of the {read} records read "
            f"({count / read:.0%}); {relax_advice(rule)}"
        )


@data_app.command("stats")
def data_stats(
    dataset: str = typer.Argument(..., help="NAME or NAME:VERSION"),
    tokenizer: str | None = typer.Option(
        None,
        help="Count tokens with a model's tokenizer "
        "(NAME, NAME:VERSION, NAME@ALIAS or a directory).",
    ),
    as_json: bool = JSON_OUTPUT,
) -> None:
    """What a dataset version holds and what curation dropped, with token counts."""
    rt = Runtime.open()
    ds_name, _, ds_version = dataset.partition(":")
    if ds_version and not ds_version.isdigit():
        raise UserError(f"dataset {dataset!r}: use NAME or NAME:VERSION (e.g. support:2)")
    ds = rt.catalog.get_dataset(ds_name, int(ds_version) if ds_version else None)
    report = json.loads((ds.path / "report.json").read_text())
    if tokenizer:
        from modelmint.data.stats import token_counts  # transformers' tokenizers

        tok_dir = (
            Path(tokenizer)
            if Path(tokenizer).is_dir()
            else (rt.catalog.resolve_model(tokenizer).path)
        )
        report["tokens"] = token_counts(ds, tok_dir)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    table = Table("", "value", title=f"dataset {ds.label}")
    for key in (
        "read",
        "rejected",
        "dropped",
        "kept",
        "splits",
        "drops",
        "languages",
        "pii_replaced",
        "length_chars",
        "duplicate_clusters",
        "stratified_by",
        "tokens",
    ):
        if key in report:
            table.add_row(key, json.dumps(report[key], ensure_ascii=False))
    for label, counts in report.get("labels", {}).items():
        table.add_row(f"label {label}", json.dumps(counts, ensure_ascii=False))
    console.print(table)
    console.print(f"report with plots: {ds.path / 'report.html'}")


@data_app.command("list")
def data_list() -> None:
    """Every dataset version with its records, splits and content hash."""
    table = Table("name", "version", "records", "splits", "content hash")
    for d in Runtime.open().catalog.list_datasets():
        splits = ", ".join(f"{k} {v}" for k, v in d.splits.items())
        table.add_row(d.name, str(d.version), str(d.num_records), splits, d.content_hash[:12])
    console.print(table)
