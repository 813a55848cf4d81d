"""What every command shares: the console, the ``--json`` and ``--as-channel`` options, how
a duration or a limit is typed and a time is shown, and how an error the user can fix ends a
command.

A command raises :class:`~modelmint.errors.UserError` (each package's own errors are built on
it) for anything the user can fix, and catches nothing: the ``mint`` app's group,
:class:`MintGroup`, prints that error's message as one red line and exits with code 1. Any
other exception is a bug, and Python shows its traceback."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from modelmint.config.clock import utc
from modelmint.errors import UserError

if TYPE_CHECKING:
    from modelmint.commerce.accounts import Unset

console = Console()
err = Console(stderr=True)

JSON_OUTPUT = typer.Option(False, "--json", help="Print JSON instead of a table.")

# Every command that can act for a channel takes this one option. `--channel` stays the name
# of a channel as data (the owner of a new tenant, the bill a credit note goes to).
SCOPE_FLAG = "--as-channel"
AS_CHANNEL = typer.Option(
    None, SCOPE_FLAG, help="Act in this channel's scope: its own tenants, books and keys."
)
# wallets, budgets, alerts, prices, audit and admin-keys called it --channel; scripts that
# still do keep working, though help shows only --as-channel.
OLD_SCOPE_FLAG = "--channel"

_DURATION_RE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str, what: str) -> timedelta:
    """``30d``, ``12h``, ``15m``, ``90s``, ``2w``."""
    m = _DURATION_RE.match(text.strip())
    if m is None:
        raise UserError(f"{what} {text!r} is not a duration; write e.g. 30d, 12h or 15m")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def parse_limit(text: str | None, what: str) -> int | Unset | None:
    """For updates: not given (unchanged), ``none`` (no limit) or a whole number."""
    from modelmint.commerce.accounts import UNSET

    if text is None:
        return UNSET
    if text.strip().lower() == "none":
        return None
    if not text.strip().isdigit():
        raise UserError(f"{what} {text!r} is not a whole number; or write 'none'")
    return int(text)


def shown_limit(value: int | None) -> str:
    """A limit as tables show it: the number, or "" for none."""
    return "" if value is None else str(value)


def when(at: datetime | None) -> str:
    """A time as tables and messages show it: UTC to the minute, enough for a table and short
    enough to fit ("" for no time)."""
    return utc(at).astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def when_json(at: datetime | None) -> str | None:
    """A time in ``--json`` output: ISO 8601 in UTC to the second, for scripts to parse."""
    return utc(at).astimezone(UTC).isoformat(timespec="seconds") if at is not None else None


class MintGroup(TyperGroup):
    """The ``mint`` app: a :class:`UserError` from any command ends it with its message and
    exit code 1, without a traceback; the old ``--channel`` spelling of the scope option
    reaches the commands as ``--as-channel``."""

    # ctx is typed Any: typer vendors its own click, whose Context type is private to it
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _with_scope_flag(self, args))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as e:
            err.print(f"[bold red]error:[/] {e}")
            raise typer.Exit(code=1) from e


def _with_scope_flag(group: TyperGroup, args: list[str]) -> list[str]:
    """``args`` with ``--channel`` spelled ``--as-channel`` when the command they name takes
    the scope option and has no ``--channel`` of its own."""
    command: Any = group
    for word in args:  # the command's path: the words before its first option
        sub = getattr(command, "commands", {}).get(word)
        if word.startswith("-") or sub is None:
            break
        command = sub
    flags = {flag for param in command.params for flag in getattr(param, "opts", ())}
    if SCOPE_FLAG not in flags or OLD_SCOPE_FLAG in flags:
        return args
    old = OLD_SCOPE_FLAG
    return [SCOPE_FLAG + a[len(old) :] if a == old or a.startswith(old + "=") else a for a in args]
