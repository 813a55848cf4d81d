"""What every command shares: the console, and how a user error ends a command."""

from __future__ import annotations

import typer
from rich.console import Console
from transformers.utils import logging as hf_logging

from modelmint.catalog import CatalogError
from modelmint.commerce import CommerceError
from modelmint.data import DataError

console = Console()
err = Console(stderr=True)
# Progress is drawn by our own bars; the libraries' bars and advisories would interleave.
hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()

USER_ERRORS = (CatalogError, CommerceError, DataError, ValueError)


def fail(e: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {e}")
    return typer.Exit(code=1)
