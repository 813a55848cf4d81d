"""``mint keys``: API keys, with the models they may call, their limits and expiry. A key is
printed once, as the last line, and never again; only its hash is kept."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.table import Column, Table

from modelmint.cli.common import console, parse_duration, parse_limit, shown_limit, when
from modelmint.cli.runtime import Runtime
from modelmint.commerce import CommerceError

if TYPE_CHECKING:
    from modelmint.commerce.accounts import KeyInfo, Unset

keys_app = typer.Typer(help="API keys (shown once, stored as hashes).", no_args_is_help=True)


def prefix_column() -> Column:
    """A prefix is what the user copies into the next command: never cut it short."""
    return Column("prefix", no_wrap=True, min_width=12)


def allowed_models(text: str | None) -> list[str]:
    """``--models a,b``: the model names, none for every model."""
    return [m for m in (text or "").split(",") if m.strip()]


def _print_new_key(key: str, prefix: str, tenant: str, expires_at: datetime | None) -> None:
    until = f", expires {when(expires_at)} UTC" if expires_at is not None else ""
    console.print(
        f"key {prefix} for tenant {tenant!r}{until}; store it now, it will not be shown again:"
    )
    print(key)  # the last line, plain, so scripts can take it with `tail -1`


@keys_app.command("create")
def keys_create(
    tenant: str = typer.Option(..., help="Tenant the key bills to."),
    name: str = typer.Option("", help="A label for the key."),
    expires_in: str | None = typer.Option(None, help="e.g. 30d or 12h (default: never)."),
    models: str | None = typer.Option(None, help="Allowed models, comma-separated (all)."),
    rpm: int | None = typer.Option(None, help="Requests per minute for this key."),
    tpm: int | None = typer.Option(None, help="Tokens per minute for this key."),
) -> None:
    """Create an API key. It is printed once, as the last line; only its hash is kept."""
    rt = Runtime.open()
    expires = rt.keys.clock() + parse_duration(expires_in, "--expires-in") if expires_in else None
    created = rt.keys.create(
        tenant,
        name,
        scope=rt.scope(),
        expires_at=expires,
        allowed_models=allowed_models(models),
        rpm_limit=rpm,
        tpm_limit=tpm,
    )
    _print_new_key(created.key, created.prefix, created.tenant, created.expires_at)


@keys_app.command("rotate")
def keys_rotate(
    prefix: str,
    grace: str = typer.Option("24h", help="How long the old key keeps working."),
    expires_in: str | None = typer.Option(None, help="Expiry of the new key (default: never)."),
) -> None:
    """Replace a key: the new one (printed once, last line) has the old one's name, models
    and limits; the old one works until the grace period ends."""
    rt = Runtime.open()
    grace_td = parse_duration(grace, "--grace")
    expires = rt.keys.clock() + parse_duration(expires_in, "--expires-in") if expires_in else None
    created = rt.keys.rotate(rt.scope(), prefix, grace_td, expires_at=expires)
    console.print(f"old key {prefix} keeps working for {grace}")
    _print_new_key(created.key, created.prefix, created.tenant, created.expires_at)


@keys_app.command("update")
def keys_update(
    prefix: str,
    models: str | None = typer.Option(None, help="Allowed models, comma-separated."),
    all_models: bool = typer.Option(False, help="Allow every model again."),
    rpm: str | None = typer.Option(None, help="Requests per minute, or 'none'."),
    tpm: str | None = typer.Option(None, help="Tokens per minute, or 'none'."),
    expires_in: str | None = typer.Option(None, help="e.g. 30d from now, or 'never'."),
) -> None:
    """Change a key's allowed models, limits or expiry (the secret stays the same)."""
    from modelmint.commerce.accounts import UNSET

    rt = Runtime.open()
    if models is not None and all_models:
        raise CommerceError("give --models or --all-models, not both")
    expires: datetime | Unset | None = UNSET
    if expires_in is not None:
        expires = (
            None
            if expires_in.strip().lower() == "never"
            else rt.keys.clock() + parse_duration(expires_in, "--expires-in")
        )
    k = rt.keys.update(
        rt.scope(),
        prefix,
        allowed_models=[] if all_models else (allowed_models(models) if models else UNSET),
        rpm_limit=parse_limit(rpm, "--rpm"),
        tpm_limit=parse_limit(tpm, "--tpm"),
        expires_at=expires,
    )
    console.print(
        f"key {k.prefix}: models {', '.join(k.allowed_models) or 'all'}, "
        f"rpm {shown_limit(k.rpm_limit) or 'none'}, tpm {shown_limit(k.tpm_limit) or 'none'}, "
        f"expires {when(k.expires_at) + ' UTC' if k.expires_at else 'never'}"
    )


def _key_row(k: KeyInfo) -> list[str]:
    return [
        k.prefix,
        k.tenant,
        k.name,
        k.status,
        when(k.expires_at),
        ",".join(k.allowed_models) or "all",
        shown_limit(k.rpm_limit),
        shown_limit(k.tpm_limit),
        k.rotated_from or "",
        when(k.created_at),
    ]


@keys_app.command("list")
def keys_list(tenant: str | None = typer.Option(None)) -> None:
    """API keys (prefixes only: a key is shown once, when made), with their limits and status."""
    rt = Runtime.open()
    keys = rt.keys.list(rt.scope(), tenant)
    headers = ["tenant", "name", "status", "expires", "models", "rpm", "tpm", "from", "created"]
    table = Table(prefix_column(), *headers)
    for k in keys:
        table.add_row(*_key_row(k))
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(prefix: str) -> None:
    """Refuse the key from the next request on, on every gateway replica."""
    rt = Runtime.open()
    rt.keys.revoke(rt.scope(), prefix)
    console.print(f"key {prefix} revoked")
