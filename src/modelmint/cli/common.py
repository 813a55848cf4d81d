"""What every command shares: the console, and how a user error ends a command."""

from __future__ import annotations

import typer
from rich.console import Console

from modelmint.catalog import CatalogError
from modelmint.commerce import CommerceError
from modelmint.data import DataError

console = Console()
err = Console(stderr=True)

USER_ERRORS = (CatalogError, CommerceError, DataError, ValueError)

JSON_OUTPUT = typer.Option(False, "--json", help="Print JSON instead of a table.")


def fail(e: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {e}")
    return typer.Exit(code=1)
