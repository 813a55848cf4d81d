"""``mint channels|tenants|keys|admin-keys``: accounts and keys (prices and the audit log
are in ``cli/prices.py`` and ``cli/audit.py``).

The CLI acts as the platform (actor ``cli:<os user>`` in the audit log); ``--channel C``
acts in channel C's scope where a command says so. Keys are printed once, as the last
line, and never again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import typer
from rich.table import Column, Table

from modelmint.cli.common import console, fail
from modelmint.cli.runtime import Runtime
from modelmint.commerce import CommerceError

if TYPE_CHECKING:
    from modelmint.commerce import KeyInfo, TenantRef
    from modelmint.commerce.tenants import Unset

channels_app = typer.Typer(help="Channel partners who resell to their own tenants.")
tenants_app = typer.Typer(help="Customers whose keys call the API.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (shown once, stored as hashes).", no_args_is_help=True)
admin_keys_app = typer.Typer(help="Keys for the admin API (platform or one channel).")
for _sub in (channels_app, admin_keys_app):
    _sub.info.no_args_is_help = True

ACCOUNT_APPS = [
    (channels_app, "channels"),
    (tenants_app, "tenants"),
    (keys_app, "keys"),
    (admin_keys_app, "admin-keys"),
]


def _prefix_column() -> Column:
    """A prefix is what the user copies into the next command: never cut it short."""
    return Column("prefix", no_wrap=True, min_width=12)


_DURATION_RE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@contextmanager
def user_errors() -> Iterator[None]:
    """A refused request ends the command with its message and exit code 1."""
    try:
        yield
    except CommerceError as e:
        raise fail(e) from e


def parse_duration(text: str, what: str) -> timedelta:
    """``30d``, ``12h``, ``15m``, ``90s``, ``2w``."""
    m = _DURATION_RE.match(text.strip())
    if m is None:
        raise CommerceError(f"{what} {text!r} is not a duration; write e.g. 30d, 12h or 15m")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def parse_limit(text: str | None, what: str) -> int | Unset | None:
    """For updates: not given (unchanged), ``none`` (no limit) or a whole number."""
    from modelmint.commerce.tenants import UNSET

    if text is None:
        return UNSET
    if text.strip().lower() == "none":
        return None
    if not text.strip().isdigit():
        raise CommerceError(f"{what} {text!r} is not a whole number; or write 'none'")
    return int(text)


def _models(text: str | None) -> list[str]:
    return [m for m in (text or "").split(",") if m.strip()]


def when(at: datetime | None) -> str:
    """UTC to the minute: enough for a table, short enough to fit."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def _num(value: int | None) -> str:
    return "" if value is None else str(value)


# channels --------------------------------------------------------------------------------
@channels_app.command("create")
def channels_create(name: str) -> None:
    """Create a channel (a reseller). It buys at the platform's `wholesale` book unless
    `mint channels set-book` says otherwise."""
    rt = Runtime.open()
    with user_errors():
        c = rt.channels.create(rt.scope(), name)
    console.print(f"channel {c.name!r} created (wholesale book: {c.effective_wholesale_book})")


@channels_app.command("list")
def channels_list() -> None:
    """Channels with their wholesale price book and how many tenants each has."""
    rt = Runtime.open()
    tenants = rt.tenants.list(rt.scope())
    table = Table("name", "wholesale book", "tenants", "created")
    for c in rt.channels.list(rt.scope()):
        count = sum(1 for t in tenants if t.channel_id == c.id)
        table.add_row(c.name, c.effective_wholesale_book, str(count), when(c.created_at))
    console.print(table)


@channels_app.command("set-book")
def channels_set_book(
    channel: str,
    book: str | None = typer.Argument(
        None, help="A platform price book; leave out to go back to `wholesale`."
    ),
) -> None:
    """Choose the platform price book a channel buys at."""
    rt = Runtime.open()
    with user_errors():
        c = rt.channels.set_wholesale_book(rt.scope(), channel, book)
    console.print(f"channel {c.name!r} now buys at {c.effective_wholesale_book!r}")


# tenants ---------------------------------------------------------------------------------
@tenants_app.command("create")
def tenants_create(
    name: str,
    channel: str | None = typer.Option(None, help="The channel that owns the tenant."),
    billing: str = typer.Option("postpaid", help="postpaid (invoiced) or prepaid (wallet)."),
    plan: str | None = typer.Option(None, help="Retail price book (default: `standard`)."),
    rpm: int | None = typer.Option(None, help="Requests per minute, all keys together."),
    tpm: int | None = typer.Option(None, help="Tokens per minute, all keys together."),
    keep_transcripts: bool = typer.Option(
        False, help="Keep every request's transcript (for feedback), not only store: true."
    ),
) -> None:
    """Create a tenant, owned by the platform or (with --channel) by a channel."""
    rt = Runtime.open()
    with user_errors():
        t = rt.tenants.create(
            name,
            scope=rt.scope(),
            channel=channel,
            billing=billing,
            plan=plan,
            rpm_limit=rpm,
            tpm_limit=tpm,
            keep_transcripts=keep_transcripts,
        )
    owner = f"channel {t.channel!r}" if t.channel else "the platform"
    console.print(f"tenant {t.name!r} created ({t.billing}, plan {t.effective_plan}, {owner})")


@tenants_app.command("update")
def tenants_update(
    name: str,
    plan: str | None = typer.Option(None, help="Retail price book of the tenant's owner."),
    default_plan: bool = typer.Option(False, help="Back to the owner's `standard` book."),
    billing: str | None = typer.Option(None, help="postpaid or prepaid."),
    rpm: str | None = typer.Option(None, help="Requests per minute, or 'none'."),
    tpm: str | None = typer.Option(None, help="Tokens per minute, or 'none'."),
    keep_transcripts: bool | None = typer.Option(
        None,
        "--keep-transcripts/--no-keep-transcripts",
        help="Keep every request's transcript (for feedback), not only store: true.",
    ),
) -> None:
    """Change a tenant's plan, billing, limits or whether it keeps transcripts."""
    from modelmint.commerce.tenants import UNSET

    rt = Runtime.open()
    with user_errors():
        if plan is not None and default_plan:
            raise CommerceError("give --plan or --default-plan, not both")
        t = rt.tenants.update(
            rt.scope(),
            name,
            plan=None if default_plan else (plan if plan is not None else UNSET),
            billing=billing if billing is not None else UNSET,
            rpm_limit=parse_limit(rpm, "--rpm"),
            tpm_limit=parse_limit(tpm, "--tpm"),
            keep_transcripts=keep_transcripts if keep_transcripts is not None else UNSET,
        )
    console.print(
        f"tenant {t.name!r}: {t.billing}, plan {t.effective_plan}, "
        f"rpm {_num(t.rpm_limit) or 'none'}, tpm {_num(t.tpm_limit) or 'none'}"
        + (", keeps every transcript" if t.keep_transcripts else "")
    )


@tenants_app.command("suspend")
def tenants_suspend(name: str) -> None:
    """Refuse every key of the tenant from the next request on (reversible)."""
    rt = Runtime.open()
    with user_errors():
        rt.tenants.suspend(rt.scope(), name)
    console.print(f"tenant {name!r} suspended: its keys are refused until `mint tenants resume`")


@tenants_app.command("resume")
def tenants_resume(name: str) -> None:
    """Let a suspended tenant's keys call the API again."""
    rt = Runtime.open()
    with user_errors():
        rt.tenants.resume(rt.scope(), name)
    console.print(f"tenant {name!r} resumed")


def _tenant_row(t: TenantRef) -> list[str]:
    return [
        t.name,
        t.channel or "",
        t.billing,
        t.effective_plan,
        _num(t.rpm_limit),
        _num(t.tpm_limit),
        "suspended" if t.suspended else "active",
        when(t.created_at),
    ]


@tenants_app.command("list")
def tenants_list(
    channel: str | None = typer.Option(None, help="Only this channel's tenants."),
) -> None:
    """Tenants with their channel, billing, plan, limits and status."""
    rt = Runtime.open()
    with user_errors():
        tenants = rt.tenants.list(rt.scope(), channel=channel)
    table = Table("name", "channel", "billing", "plan", "rpm", "tpm", "status", "created")
    for t in tenants:
        table.add_row(*_tenant_row(t))
    console.print(table)


# API keys --------------------------------------------------------------------------------
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
    with user_errors():
        expires = (
            rt.keys.clock() + parse_duration(expires_in, "--expires-in") if expires_in else None
        )
        created = rt.keys.create(
            tenant,
            name,
            scope=rt.scope(),
            expires_at=expires,
            allowed_models=_models(models),
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
    with user_errors():
        grace_td = parse_duration(grace, "--grace")
        expires = (
            rt.keys.clock() + parse_duration(expires_in, "--expires-in") if expires_in else None
        )
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
    from modelmint.commerce.tenants import UNSET

    rt = Runtime.open()
    with user_errors():
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
            allowed_models=[] if all_models else (_models(models) if models else UNSET),
            rpm_limit=parse_limit(rpm, "--rpm"),
            tpm_limit=parse_limit(tpm, "--tpm"),
            expires_at=expires,
        )
    console.print(
        f"key {k.prefix}: models {', '.join(k.allowed_models) or 'all'}, "
        f"rpm {_num(k.rpm_limit) or 'none'}, tpm {_num(k.tpm_limit) or 'none'}, "
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
        _num(k.rpm_limit),
        _num(k.tpm_limit),
        k.rotated_from or "",
        when(k.created_at),
    ]


@keys_app.command("list")
def keys_list(tenant: str | None = typer.Option(None)) -> None:
    """API keys (prefixes only: a key is shown once, when made), with their limits and status."""
    rt = Runtime.open()
    with user_errors():
        keys = rt.keys.list(rt.scope(), tenant)
    headers = ["tenant", "name", "status", "expires", "models", "rpm", "tpm", "from", "created"]
    table = Table(_prefix_column(), *headers)
    for k in keys:
        table.add_row(*_key_row(k))
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(prefix: str) -> None:
    """Refuse the key from the next request on, on every gateway replica."""
    rt = Runtime.open()
    with user_errors():
        rt.keys.revoke(rt.scope(), prefix)
    console.print(f"key {prefix} revoked")


# admin keys ------------------------------------------------------------------------------
@admin_keys_app.command("create")
def admin_keys_create(
    channel: str | None = typer.Option(None, help="A key that manages only this channel."),
    name: str = typer.Option("", help="A label for the key."),
) -> None:
    """Create an admin key (for /admin/v1 and the console), printed once as the last line."""
    rt = Runtime.open()
    with user_errors():
        created = rt.admin_keys.create(rt.scope(channel), name)
    whose = f"channel {created.channel!r}" if created.channel else "the platform"
    console.print(
        f"admin key {created.prefix} for {whose}; store it now, it will not be shown again:"
    )
    print(created.key)


@admin_keys_app.command("list")
def admin_keys_list() -> None:
    """Admin keys of the platform and the channels (prefixes only)."""
    rt = Runtime.open()
    table = Table(_prefix_column(), "channel", "name", "created", "expires", "revoked")
    for k in rt.admin_keys.list(rt.scope()):
        table.add_row(
            k.prefix,
            k.channel or "(platform)",
            k.name,
            when(k.created_at),
            when(k.expires_at),
            when(k.revoked_at),
        )
    console.print(table)


@admin_keys_app.command("revoke")
def admin_keys_revoke(prefix: str) -> None:
    """Refuse the admin key from the next request on, in the API and the console."""
    rt = Runtime.open()
    with user_errors():
        rt.admin_keys.revoke(rt.scope(), prefix)
    console.print(f"admin key {prefix} revoked")
