"""The one writer of the audit log, below every layer that changes something worth auditing:
commerce (keys, tenants, prices, wallets...) and the catalog (alias promotions and
rollbacks) write their entries through it, and reading them stays with each owner (the
commerce ``AuditLog`` scopes entries to a channel; the catalog reads an alias's history).

Entries are only ever added, in the caller's unit of work, so a change and its entry commit
together or not at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from modelmint.store.commerce_tables import AuditEntry


def write_audit(
    s: Session,
    *,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
    channel_id: int | None = None,
) -> None:
    """Adds the entry to the caller's unit of work: it commits with the change or not at
    all. ``channel_id``: the channel whose records changed, so a channel sees its own."""
    s.add(
        AuditEntry(
            actor=actor,
            action=action,
            target=target,
            before=before,
            after=after,
            channel_id=channel_id,
            created_at=at,
        )
    )
