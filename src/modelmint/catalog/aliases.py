"""Aliases (``demo@production``): movable names pointing at one version of a model, and the
one way to move them. Every move, from the console, the command line, a training run or
the quickstart, goes through ``Aliases.promote`` or ``Aliases.rollback``: it locks the
alias's row, points it at the version and writes the audit entry (``model_alias.promote``
or ``model_alias.rollback``, with the version before and after) in the same transaction.

The history of an alias is those entries and nothing else, so a rollback reads the version
to restore from there: each rollback undoes the newest promotion not undone yet. A move
that made no entry would be missing from the history and a later rollback would skip it.

Who moved it (the entry's actor): the admin key's actor for the console, ``cli_actor()``
(``cli:<os user>``) for the command line and the quickstart, and ``run:<id>`` for the alias
a training recipe names, moved by the run that made the version."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.catalog.errors import CatalogError, NothingToRollBack
from modelmint.catalog.models import version_row
from modelmint.catalog.names import check_name
from modelmint.config.clock import Clock, utc, utc_now
from modelmint.store import AuditEntry, Store, write_audit
from modelmint.store.catalog_tables import ModelAlias, ModelVersion

PROMOTE, ROLLBACK = "model_alias.promote", "model_alias.rollback"
HISTORY_LIMIT = 200  # entries a model's history shows


@dataclass(frozen=True)
class AliasMove:
    """What a promotion or a rollback did."""

    name: str
    alias: str
    previous: int | None  # the version it named before; None: it did not exist
    version: int  # the version it names now
    model_version_id: int
    changed: bool  # False: it already named that version (nothing written, not audited)


@dataclass(frozen=True)
class AliasEntry:
    """One audited move of an alias."""

    alias: str
    action: str  # "promote" or "rollback"
    from_version: int | None
    to_version: int | None
    actor: str
    at: datetime


@dataclass(frozen=True)
class AliasStatus:
    alias: str
    version: int
    updated_at: datetime
    rollback_to: int | None  # the version a rollback would restore


def alias_target(name: str, alias: str) -> str:
    """The audit entries' ``target`` for an alias."""
    return f"model_alias:{name}@{alias}"


def rollback_target(entries: Iterable[AliasEntry]) -> int | None:
    """The version a rollback restores, from the alias's entries newest first: the version
    before the latest promotion not yet undone (each rollback undoes one)."""
    undone = 0
    for e in entries:
        if e.action == "rollback":
            undone += 1
        elif e.action == "promote":
            if undone:
                undone -= 1
                continue
            return e.from_version
    return None


def _entry(e: AuditEntry) -> AliasEntry:
    before = (e.before or {}).get("version")
    after = (e.after or {}).get("version")
    return AliasEntry(
        alias=e.target.partition("@")[2],
        action=e.action.rpartition(".")[2],
        from_version=before if isinstance(before, int) else None,
        to_version=after if isinstance(after, int) else None,
        actor=e.actor,
        at=utc(e.created_at),
    )


def _entries(s: Session, name: str, alias: str) -> list[AliasEntry]:
    rows = s.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action.in_((PROMOTE, ROLLBACK)),
            AuditEntry.target == alias_target(name, alias),
        )
        .order_by(AuditEntry.id.desc())
    )
    return [_entry(e) for e in rows]


def _rollback_version(s: Session, name: str, alias: str, row: ModelAlias | None) -> int:
    if row is None:
        raise CatalogError(f"no alias {name}@{alias}")
    version = rollback_target(_entries(s, name, alias))
    if version is None:
        raise NothingToRollBack(
            f"{name}@{alias} has no earlier version to go back to: it was never promoted "
            "from another version (or every promotion was already rolled back)."
        )
    return version


class Aliases:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def promote(self, name: str, alias: str, version: int, *, actor: str) -> AliasMove:
        """Points ``name@alias`` at ``name:version`` (creating the alias if needed)."""
        return self._move(name, alias, version, actor)

    def rollback(self, name: str, alias: str, *, actor: str) -> AliasMove:
        """Puts ``name@alias`` back on the version it named before its latest promotion
        not yet undone. Raises NothingToRollBack when there is none."""
        return self._move(name, alias, None, actor)

    def _move(self, name: str, alias: str, version: int | None, actor: str) -> AliasMove:
        check_name(alias)
        # SQLite: the write lock from the start; PostgreSQL: the alias's row lock. Either way
        # a second move of the alias waits, then reads the history this one wrote.
        with self.store.write_session() as s:
            row = s.scalar(
                select(ModelAlias)
                .where(ModelAlias.name == name, ModelAlias.alias == alias)
                .with_for_update()
            )
            current = s.get(ModelVersion, row.model_version_id) if row else None
            action = PROMOTE if version is not None else ROLLBACK
            if version is None:
                version = _rollback_version(s, name, alias, row)
            target = version_row(s, name, version)
            if target is None:
                raise CatalogError(f"no model {name}:{version}")
            previous = current.version if current else None
            if row is not None and row.model_version_id == target.id:
                return AliasMove(name, alias, previous, version, target.id, changed=False)
            now = self.clock()
            if row is None:
                s.add(
                    ModelAlias(name=name, alias=alias, model_version_id=target.id, updated_at=now)
                )
            else:
                row.model_version_id, row.updated_at = target.id, now
            write_audit(
                s,
                actor=actor,
                action=action,
                target=alias_target(name, alias),
                before={"version": current.version, "model_version_id": current.id}
                if current
                else None,
                after={"version": target.version, "model_version_id": target.id},
                at=now,
            )
            return AliasMove(name, alias, previous, version, target.id, changed=True)

    def history(self, name: str, limit: int = HISTORY_LIMIT) -> list[AliasEntry]:
        """Promotions and rollbacks of ``name``'s aliases, newest first."""
        with self.store.session() as s:
            rows = s.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.action.in_((PROMOTE, ROLLBACK)),
                    AuditEntry.target.startswith(f"model_alias:{name}@", autoescape=True),
                )
                .order_by(AuditEntry.id.desc())
                .limit(limit)
            )
            return [_entry(e) for e in rows]

    def statuses(self, name: str) -> list[AliasStatus]:
        """Each alias of ``name``: the version it names and the one a rollback restores."""
        with self.store.session() as s:
            rows = s.execute(
                select(ModelAlias, ModelVersion.version)
                .join(ModelVersion, ModelVersion.id == ModelAlias.model_version_id)
                .where(ModelVersion.name == name)
                .order_by(ModelAlias.alias)
            ).all()
            return [
                AliasStatus(
                    alias=a.alias,
                    version=version,
                    updated_at=utc(a.updated_at),
                    rollback_to=rollback_target(_entries(s, name, a.alias)),
                )
                for a, version in rows
            ]
