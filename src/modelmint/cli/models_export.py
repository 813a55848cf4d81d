"""``mint models export``: a catalog version as files other tools run, a GGUF with an Ollama
Modelfile for llama.cpp and Ollama, or a clean Hugging Face directory for vLLM, a hub or
anyone's transformers.

Registered on ``mint models`` by ``cli/models.py``. Each export is written beside its
destination and moved into place when complete, so an interrupted one never leaves a file
that looks finished; an existing destination is replaced only with ``--force``, and only once
the new export is complete."""

from __future__ import annotations

import os
import shutil
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelmint.cli.common import console
from modelmint.cli.runtime import Runtime
from modelmint.errors import UserError

if TYPE_CHECKING:
    from modelmint.catalog import ModelRef

EXPORTABLE_KINDS = ("causal-lm",)


class ExportFormat(StrEnum):
    gguf = "gguf"
    hf = "hf"


class Quant(StrEnum):
    f16 = "f16"
    bf16 = "bf16"
    q8_0 = "q8_0"


def _check_exportable(model: ModelRef) -> None:
    if model.kind == "adapter":
        raise UserError(
            f"{model.label} is a LoRA adapter; fold it into its base first with "
            f"`mint models merge {model.label}`, then export the merged version"
        )
    if model.kind not in EXPORTABLE_KINDS:
        raise UserError(
            f"{model.label} is a {model.kind} model; export writes causal language models "
            f"({', '.join(EXPORTABLE_KINDS)})"
        )


def _check_free(path: Path, force: bool) -> None:
    """Refuses a destination that exists unless --force, and never the current or home
    directory; nothing is removed until the new export is complete."""
    if not path.exists() and not path.is_symlink():
        return
    if not force:
        raise UserError(f"{path} exists; pass --force to replace it")
    resolved, here = path.resolve(), Path.cwd().resolve()
    if path.is_dir() and (resolved == here or resolved in here.parents or resolved == Path.home()):
        raise UserError(f"refusing to replace {path}: it holds the current or home directory")


def _move_into_place(done: Path, path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    os.replace(done, path)


def _export_gguf(model: ModelRef, quant: Quant, out: Path | None, force: bool) -> None:
    from modelmint.cli.progress import RichProgress
    from modelmint.modeling.gguf_export import export_gguf
    from modelmint.modeling.ollama_modelfile import write_modelfile

    stem = f"{model.name}-v{model.version}-{quant.value}"
    target = out or Path(stem)
    gguf_file = target if target.suffix == ".gguf" else target / f"{stem}.gguf"
    modelfile = gguf_file.parent / "Modelfile"
    for path in (gguf_file, modelfile):
        _check_free(path, force)
    made_dir = not gguf_file.parent.exists()
    gguf_file.parent.mkdir(parents=True, exist_ok=True)
    partial = gguf_file.with_name(f".{gguf_file.name}.partial")
    try:
        with RichProgress(console) as progress:
            done = export_gguf(
                model.path, partial, quant=quant.value, name=model.name, progress=progress
            )
        _move_into_place(partial, gguf_file)
    except BaseException:
        partial.unlink(missing_ok=True)
        if made_dir and not any(gguf_file.parent.iterdir()):
            gguf_file.parent.rmdir()
        raise
    written = write_modelfile(
        model.path, gguf_file, add_bos=done.vocabulary.add_bos, source=model.label
    )
    size = gguf_file.stat().st_size / 2**20
    console.print(
        f"[green]✓[/] {model.label} → {gguf_file} ({done.architecture}, {quant.value}, "
        f"{done.tensors} tensors, {size:,.1f} MiB) and {written.path} "
        f"({written.chat_format or 'no'} chat template, stops {', '.join(written.stops)})"
    )
    for caveat in done.caveats:
        console.print(f"[yellow]![/] {caveat}")
    if written.chat_format is None:
        console.print("[yellow]![/] no known chat format: Ollama will pass prompts through raw")
    console.print(
        f"  ollama: cd {gguf_file.parent} && ollama create {model.name} -f Modelfile\n"
        f"  llama.cpp: llama-cli -m {gguf_file} --jinja",
        highlight=False,
        soft_wrap=True,
    )


def _export_hf(model: ModelRef, quant: Quant | None, out: Path | None, force: bool) -> None:
    from modelmint.cli.progress import RichProgress
    from modelmint.modeling.hf_export import export_hf

    target = out or Path(f"{model.name}-v{model.version}-hf")
    _check_free(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with RichProgress(console) as progress:
            done = export_hf(
                model.path, partial, quant=quant.value if quant else None, progress=progress
            )
        _move_into_place(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    how = " (dequantized from int8)" if done.dequantized else ""
    console.print(
        f"[green]✓[/] {model.label} → {target} (Hugging Face, {done.dtype}{how}, "
        f"{done.parameters / 1e6:.1f}M parameters)"
    )
    for note in done.notes:
        console.print(f"[yellow]![/] {note}")


def models_export(
    spec: str = typer.Argument(..., help="NAME, NAME:VERSION or NAME@ALIAS"),
    fmt: ExportFormat = typer.Option(
        ..., "--format", help="gguf (llama.cpp, Ollama) or hf (a Hugging Face directory)."
    ),
    quant: Quant | None = typer.Option(
        None,
        "--quant",
        help="Weight type: f16 (gguf's default), bf16 or q8_0 (gguf only); "
        "hf keeps the checkpoint's dtype unless f16 or bf16 is given.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Directory to write (or a .gguf file path); default NAME-vVERSION-QUANT "
        "or NAME-vVERSION-hf here.",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing export."),
) -> None:
    """Write a model version as a GGUF file with an Ollama Modelfile, or as a clean Hugging
    Face directory."""
    model = Runtime.open().catalog.resolve_model(spec)
    _check_exportable(model)
    if fmt is ExportFormat.gguf:
        _export_gguf(model, quant or Quant.f16, out, force)
    else:
        _export_hf(model, quant, out, force)
