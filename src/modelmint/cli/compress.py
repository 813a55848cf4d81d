"""``mint compress quantize|prune``: make a smaller version of a model, then show it against
its parent: size on disk, parameters, decode tokens/s and quality on the parent's own
evaluation suites (run again on both, so the two columns measure the same thing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from modelmint.cli.common import console
from modelmint.cli.progress import RichProgress
from modelmint.cli.runtime import Runtime
from modelmint.compression.methods import METHODS

if TYPE_CHECKING:
    from collections.abc import Callable

    from modelmint.catalog import Catalog, ModelRef
    from modelmint.compression import Compressed
    from modelmint.evaluation import EvaluationResult
    from modelmint.observability import ProgressFn

compress_app = typer.Typer(
    help="Smaller, cheaper versions of a model: int8 quantization and pruning.",
    no_args_is_help=True,
)
BATCHES = (1, 16)
EVAL_OPTION = typer.Option(True, "--eval/--no-eval", help="Run the parent's suites on both.")
ROUNDS_OPTION = typer.Option(3, min=0, help="Interleaved decode-speed rounds (0: skip).")
THREADS_OPTION = typer.Option(None, min=1, help="CPU threads for the speed measurement.")


@compress_app.command("quantize")
def quantize_command(
    model: str = typer.Argument(..., help="NAME, NAME:VERSION or NAME@ALIAS."),
    method: str = typer.Option(
        "int8-dynamic",
        help="; ".join(
            f"{m.name}: {m.unsupported.split(':')[0] if m.unsupported else m.summary}"
            for m in METHODS.values()
        ),
    ),
    name: str | None = typer.Option(None, help="Register under this name (default NAME-METHOD)."),
    keep_output_layer: bool = typer.Option(
        False, help="int8-dynamic: leave the output layer in float32."
    ),
    quantize_mlp_output: bool = typer.Option(
        False,
        help="int8-dynamic: quantize the MLP output projections (down_proj) too; by default "
        "they stay float32, which costs far less perplexity (docs/benchmarks.md has the figures).",
    ),
    evaluate: bool = EVAL_OPTION,
    rounds: int = ROUNDS_OPTION,
    threads: int | None = THREADS_OPTION,
) -> None:
    """Quantize a model's weights to int8 as a new model version whose parent is MODEL."""
    from modelmint.compression import FLOAT_BY_DEFAULT, quantize

    def make(catalog: Catalog, source: ModelRef, progress: ProgressFn) -> Compressed:
        return quantize(
            catalog,
            source,
            method,
            name=name,
            output_layer=not keep_output_layer,
            keep_float=() if quantize_mlp_output else FLOAT_BY_DEFAULT,
            progress=progress,
        )

    _compress_and_compare(model, make, evaluate, rounds, threads)


@compress_app.command("prune")
def prune_command(
    model: str = typer.Argument(..., help="NAME, NAME:VERSION or NAME@ALIAS."),
    sparsity: float = typer.Option(..., help="Fraction of decoder weights to remove (0-1)."),
    structured: bool = typer.Option(
        False, help="Remove whole MLP neurons and attention heads (smaller and faster)."
    ),
    method: str = typer.Option(
        "wanda",
        help="Unstructured: wanda (|weight| x input norm on calibration text from the "
        "lineage dataset) or magnitude (|weight| alone, needs no data).",
    ),
    name: str | None = typer.Option(None, help="Register under this name (default NAME-prunedS)."),
    evaluate: bool = EVAL_OPTION,
    rounds: int = ROUNDS_OPTION,
    threads: int | None = THREADS_OPTION,
) -> None:
    """Prune a model's decoder weights as a new model version whose parent is MODEL."""
    from modelmint.compression import prune

    def make(catalog: Catalog, source: ModelRef, progress: ProgressFn) -> Compressed:
        return prune(
            catalog,
            source,
            sparsity,
            structured=structured,
            method=method,
            name=name,
            progress=progress,
        )

    _compress_and_compare(model, make, evaluate, rounds, threads)


if TYPE_CHECKING:
    Measured = tuple[dict[str, dict[int, float]], list[tuple[EvaluationResult, EvaluationResult]]]


def _compress_and_compare(
    model: str,
    make: Callable[[Catalog, ModelRef, ProgressFn], Compressed],
    evaluate: bool,
    rounds: int,
    threads: int | None,
) -> None:
    """What each command does around its own compression: MODEL is resolved, its smaller
    version made (``make``), both measured, and the two shown side by side."""
    rt = Runtime.open()
    source = rt.catalog.resolve_model(model)
    with RichProgress(console) as progress:
        done = make(rt.catalog, source, progress)
        speeds, pairs = _measure(rt, done, evaluate, rounds, threads, progress)
    console.print(comparison_table(done.source, done.model, speeds, pairs))


def _measure(
    rt: Runtime,
    done: Compressed,
    evaluate: bool,
    rounds: int,
    threads: int | None,
    progress: ProgressFn,
) -> Measured:
    """Decode speed of parent and child, interleaved (stored on the child), and the parent's
    evaluations run again on both."""
    from modelmint.evaluation import rerun_evaluations

    source, target = done.source, done.model
    facts = ", ".join(f"{k} {v}" for k, v in done.facts.items() if k != "method")
    console.print(
        f"[green]✓[/] {done.facts['method']} of {source.label}: registered {target.label} ({facts})"
    )
    speeds: dict[str, dict[int, float]] = {}
    if rounds:
        import torch

        from modelmint.compression import compare_decode_speed
        from modelmint.modeling import load_causal_lm

        if threads:
            torch.set_num_threads(threads)
        models = {"parent": load_causal_lm(source.path), "child": load_causal_lm(target.path)}
        speeds = compare_decode_speed(models, batch_sizes=BATCHES, rounds=rounds, progress=progress)
        rt.catalog.update_model_metrics(
            target.id,
            {f"decode_tokens_per_s_batch{b}": round(v, 1) for b, v in speeds["child"].items()},
        )
    pairs = rerun_evaluations(rt.catalog, source, target, progress=progress) if evaluate else []
    return speeds, pairs


def _ratio(a: float, b: float) -> str:
    return f"{b / a:.2f}x" if a else ""


def _change(a: float, b: float) -> str:
    if not a:
        return f"{b - a:+.4g}"
    return f"{(b - a) / abs(a):+.1%}"


def comparison_table(
    source: ModelRef,
    target: ModelRef,
    speeds: dict[str, dict[int, float]],
    pairs: list[tuple[EvaluationResult, EvaluationResult]],
) -> Table:
    from modelmint.compression import directory_bytes

    table = Table("", source.label, target.label, "change", title="compressed against its parent")
    size_a, size_b = directory_bytes(source.path), directory_bytes(target.path)
    table.add_row(
        "size on disk (MB)", f"{size_a / 1e6:.2f}", f"{size_b / 1e6:.2f}", _ratio(size_a, size_b)
    )
    n_a, n_b = source.num_parameters, target.num_parameters
    table.add_row("parameters (M)", f"{n_a / 1e6:.2f}", f"{n_b / 1e6:.2f}", _ratio(n_a, n_b))
    for batch in BATCHES if speeds else ():
        a, b = speeds["parent"][batch], speeds["child"][batch]
        table.add_row(f"decode tokens/s, batch {batch}", f"{a:.1f}", f"{b:.1f}", _ratio(a, b))
    for before, after in pairs:
        where = f" ({before.dataset}/{before.split})" if before.split else ""
        for metric, old in before.metrics.items():
            new = after.metrics.get(metric)
            if new is not None:
                row = f"{before.suite}: {metric}{where}"
                table.add_row(row, f"{old:.4g}", f"{new:.4g}", _change(old, new))
    return table
