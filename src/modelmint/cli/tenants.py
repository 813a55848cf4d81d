"""``mint tenants``: the customers whose keys call the API, owned by the platform or by a
channel (``--channel C``), with their billing, plan, limits and status. The CLI acts as the
platform (actor ``cli:<os user>`` in the audit log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from modelmint.cli.common import console, parse_limit, shown_limit, when
from modelmint.cli.runtime import Runtime
from modelmint.commerce import CommerceError

if TYPE_CHECKING:
    from modelmint.commerce.accounts import TenantRef

tenants_app = typer.Typer(help="Customers whose keys call the API.", no_args_is_help=True)


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
    from modelmint.commerce.accounts import UNSET

    rt = Runtime.open()
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
        f"rpm {shown_limit(t.rpm_limit) or 'none'}, tpm {shown_limit(t.tpm_limit) or 'none'}"
        + (", keeps every transcript" if t.keep_transcripts else "")
    )


@tenants_app.command("suspend")
def tenants_suspend(name: str) -> None:
    """Refuse every key of the tenant from the next request on (reversible)."""
    rt = Runtime.open()
    rt.tenants.suspend(rt.scope(), name)
    console.print(f"tenant {name!r} suspended: its keys are refused until `mint tenants resume`")


@tenants_app.command("resume")
def tenants_resume(name: str) -> None:
    """Let a suspended tenant's keys call the API again."""
    rt = Runtime.open()
    rt.tenants.resume(rt.scope(), name)
    console.print(f"tenant {name!r} resumed")


def _tenant_row(t: TenantRef) -> list[str]:
    return [
        t.name,
        t.channel or "",
        t.billing,
        t.effective_plan,
        shown_limit(t.rpm_limit),
        shown_limit(t.tpm_limit),
        "suspended" if t.suspended else "active",
        when(t.created_at),
    ]


@tenants_app.command("list")
def tenants_list(
    channel: str | None = typer.Option(None, help="Only this channel's tenants."),
) -> None:
    """Tenants with their channel, billing, plan, limits and status."""
    rt = Runtime.open()
    tenants = rt.tenants.list(rt.scope(), channel=channel)
    table = Table("name", "channel", "billing", "plan", "rpm", "tpm", "status", "created")
    for t in tenants:
        table.add_row(*_tenant_row(t))
    console.print(table)
