"""The audit log: every admin change, who made it, and the record before and after. Written
in the same transaction as the change, so a change without its entry cannot exist.

The writer is the store's (``modelmint.store.write_audit``), shared with the catalog's alias
moves; commerce adds row snapshots and the channel-scoped reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from modelmint.commerce.errors import CommerceError
from modelmint.commerce.scope import Scope
from modelmint.config.clock import utc
from modelmint.store import AuditEntry, Store, write_audit


def snapshot(row: Any, *, omit: tuple[str, ...] = ("secret_hash",)) -> dict[str, Any]:
    """A row's columns as JSON-safe values (datetimes as ISO text), never a key's hash."""
    out: dict[str, Any] = {}
    for attr in inspect(row).mapper.column_attrs:
        if attr.key in omit:
            continue
        value = getattr(row, attr.key)
        out[attr.key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def change_audited(
    s: Session,
    row: Any,
    changes: dict[str, Any],
    *,
    actor: str,
    action: str,
    target: str,
    at: datetime,
    channel_id: int | None,
) -> None:
    """Sets ``changes`` on ``row`` and writes the audit entry with the row before and after,
    in the caller's unit of work."""
    before = snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    s.flush()
    write_audit(
        s,
        actor=actor,
        action=action,
        target=target,
        before=before,
        after=snapshot(row),
        at=at,
        channel_id=channel_id,
    )


@dataclass(frozen=True)
class AuditRecord:
    id: int
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime
    channel_id: int | None = None  # the channel whose records changed; None: the platform's


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(
        self,
        scope: Scope,
        limit: int = 100,
        action: str | None = None,
        target: str | None = None,
    ) -> list[AuditRecord]:
        """Newest first. A channel sees only entries about its own records; ``action`` and
        ``target`` filter by exact value (e.g. ``tenant.update``, ``tenant:acme``)."""
        if limit < 1:
            raise CommerceError("limit must be at least 1")
        with self.store.session() as s:
            q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
            if scope.channel_id is not None:
                q = q.where(AuditEntry.channel_id == scope.channel_id)
            if action:
                q = q.where(AuditEntry.action == action)
            if target:
                q = q.where(AuditEntry.target == target)
            return [
                AuditRecord(
                    e.id,
                    e.actor,
                    e.action,
                    e.target,
                    e.before,
                    e.after,
                    utc(e.created_at),
                    e.channel_id,
                )
                for e in s.scalars(q)
            ]
