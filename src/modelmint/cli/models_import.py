"""``mint models import``: an open-weight checkpoint from outside (a Hugging Face directory or
a .gguf file) becomes a model version, with where it came from written down.

Registered on ``mint models`` by ``cli/models.py``. The checks and the copy are
``Catalog.import_model``'s; this module draws the copy's progress in bytes and prints the
provenance the catalog recorded."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from modelmint.cli.common import console, err
from modelmint.cli.runtime import Runtime, cli_actor

if TYPE_CHECKING:
    from modelmint.catalog import ModelRef
    from modelmint.observability import ProgressEvent


def models_import(
    path: Path = typer.Argument(
        ..., help="A Hugging Face model directory (config.json, *.safetensors) or a .gguf file."
    ),
    name: str = typer.Option(..., help="Register it as a version of this model name."),
    license_id: str | None = typer.Option(
        None,
        "--license",
        help="Its license (an SPDX id such as apache-2.0); else read from its model card.",
    ),
    trust_pickle: bool = typer.Option(
        False,
        "--trust-pickle",
        help="Accept pickled pytorch_model*.bin weights (a pickle can run code): only from a "
        "source you trust. They are stored as safetensors.",
    ),
    tokenizer: Path | None = typer.Option(
        None, help="Take the tokenizer from this directory (when the checkpoint has none)."
    ),
    chat_template: Path | None = typer.Option(
        None, help="A Jinja file: the chat template to serve chats with."
    ),
    no_chat_template: bool = typer.Option(
        False,
        "--no-chat-template",
        help="Import a base model without a chat template: served on /v1/completions only.",
    ),
    alias: str | None = typer.Option(None, help="Point this alias at the new version."),
) -> None:
    """Import an open-weight checkpoint (Llama, Mistral, Qwen2/3, Gemma 2/3, SmolLM) as a new
    model version. Nothing is downloaded: the files must be on this machine."""
    from modelmint.catalog.names import check_name
    from modelmint.modeling import ImportOptions

    if alias is not None:
        check_name(alias)
    options = ImportOptions(
        license=license_id,
        trust_pickle=trust_pickle,
        tokenizer=tokenizer,
        chat_template=chat_template,
        no_chat_template=no_chat_template,
    )
    rt = Runtime.open()
    with ByteProgress(err) as progress:
        model = rt.catalog.import_model(name, path, options, progress=progress)
    if alias:
        rt.catalog.aliases.promote(name, alias, model.version, actor=cli_actor())
    console.print(f"[green]✓[/] imported {model.label}" + (f" (@{alias})" if alias else ""))
    for key, value in provenance_summary(model):
        console.print(f"  {key:<15} {value}", highlight=False, soft_wrap=True)
    provenance = model.provenance or {}
    if provenance.get("license") == "unknown":
        err.print(
            "[yellow]warning:[/] no license given or found in its model card: recorded as "
            "unknown. Check the publisher's terms, then import it again with --license ID."
        )
    if provenance.get("chat_template") is None:
        err.print(
            "[yellow]note:[/] no chat template: serve it for /v1/completions; "
            "/v1/chat/completions refuses it."
        )


def provenance_summary(model: ModelRef) -> list[tuple[str, str]]:
    """The lines ``mint models import`` prints of a version's provenance."""
    p: dict[str, Any] = model.provenance or {}
    arch = p.get("architecture") or {}
    rope = p.get("rope_scaling")
    rope_text = ""
    if rope:
        kind = rope.get("rope_type") or rope.get("type") or "scaled"
        rope_text = f", rope {kind}" + (f" x{rope['factor']:g}" if "factor" in rope else "")
    template = p.get("chat_template_sha256")
    ends = ", ".join(f"{e['token']} ({e['id']})" for e in p.get("end_tokens") or [])
    fmt = p.get("format", "?") + (f" {p['quantization']}" if p.get("quantization") else "")
    return [
        ("source", f"{p.get('source')} ({fmt})"),
        ("architecture", f"{arch.get('family')}: {', '.join(arch.get('architectures') or [])}"),
        ("parameters", f"{model.num_parameters:,} in {p.get('dtype')}"),
        ("context", f"{p.get('context_length')} tokens{rope_text}"),
        ("license", str(p.get("license"))),
        (
            "chat template",
            f"sha256 {template[:16]}… ({p.get('chat_template_from')})" if template else "none",
        ),
        ("end tokens", ends or "-"),
        ("weights sha256", str(p.get("weights_sha256"))),
    ]


class ByteProgress:
    """Draws the import's copy, hash and conversion events: bytes and speed per file, a
    spinner for a conversion, whose length nothing says in advance. Nothing is drawn before
    the first event, so a refusal is its error line alone."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}
        self.unsized: set[str] = set()  # conversions: a spinner until they end

    def __enter__(self) -> ByteProgress:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.tasks:
            self.progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        if not self.tasks:
            self.progress.start()
        if event.task not in self.tasks:
            self.tasks[event.task] = self.progress.add_task(event.task, total=event.total)
            if event.total is None:
                self.unsized.add(event.task)
        elif event.task in self.unsized:
            self.progress.remove_task(self.tasks[event.task])
            return
        self.progress.update(self.tasks[event.task], completed=event.completed, total=event.total)
