"""Gateway instances and crash recovery (SQL backend). Each instance heart-beats a
``gateway_instances`` row; any instance sweeps the reservations of instances whose
heartbeat is older than the timeout. In the database a settled request has no
reservation left (the usage event and the delete commit together), so a reservation of a
dead instance is released whether or not its request has a usage event: if it has one,
it was already billed; if not, it never completed. Deleting by id is idempotent, so every
replica may sweep at once."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from modelmint.store import GatewayInstance, Reservation, Store, UsageEvent


def new_instance_id() -> str:
    """Unique per process start: host, pid and a random part (a restarted process with a
    recycled pid is a new instance, so its predecessor's reservations get swept)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def heartbeat(store: Store, instance_id: str, at: datetime) -> None:
    insert = pg_insert if store.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(GatewayInstance).values(id=instance_id, started_at=at, heartbeat_at=at)
    stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={"heartbeat_at": at})
    with store.session() as s:
        s.execute(stmt)


def sweep(store: Store, at: datetime, timeout_s: float) -> tuple[int, int]:
    """Drops reservations of instances silent for ``timeout_s`` (or never seen, if the
    reservation itself is that old). Returns (already billed, released)."""
    cutoff = at - timedelta(seconds=timeout_s)
    with store.session() as s:
        alive = select(GatewayInstance.id).where(GatewayInstance.heartbeat_at >= cutoff)
        rows = s.execute(
            select(Reservation.id, Reservation.request_id).where(
                Reservation.instance_id.not_in(alive)
                & (
                    Reservation.instance_id.in_(select(GatewayInstance.id))
                    | (Reservation.created_at < cutoff)
                )
            )
        ).all()
        if not rows:
            return 0, 0
        billed = set(
            s.scalars(
                select(UsageEvent.request_id).where(
                    UsageEvent.request_id.in_([r.request_id for r in rows])
                )
            )
        )
        deleted = (
            s.execute(
                delete(Reservation)
                .where(Reservation.id.in_([r.id for r in rows]))
                .returning(Reservation.request_id)
            )
            .scalars()
            .all()
        )
    settled = sum(1 for rid in deleted if rid in billed)
    return settled, len(deleted) - settled


def forget_instance(store: Store, instance_id: str) -> None:
    """A clean shutdown: its row goes (its reservations were settled or released)."""
    with store.session() as s:
        s.execute(delete(GatewayInstance).where(GatewayInstance.id == instance_id))
