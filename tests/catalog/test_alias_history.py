"""Every alias move goes through ``Catalog.aliases``: locked, audited with the version before
and after, and read back as the alias's history; a rollback undoes the newest promotion
not undone yet, whoever made it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelmint.catalog import AliasEntry, Catalog, CatalogError, NothingToRollBack
from modelmint.catalog.aliases import rollback_target
from modelmint.commerce import PLATFORM, AuditLog
from modelmint.store import Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    c = Catalog(store, tmp_path / "artifacts", clock=lambda: T0)
    for _ in range(3):
        c.add_model_version(
            "m", c.staging_dir("model"), run_id=None, kind="causal-lm", num_parameters=1, metrics={}
        )
    return c


def _moves(catalog: Catalog) -> list[tuple[str, str, int | None, int | None, str]]:
    return [
        (e.alias, e.action, e.from_version, e.to_version, e.actor)
        for e in catalog.aliases.history("m")
    ]


def test_promotions_are_audited_and_make_the_history(catalog: Catalog) -> None:
    first = catalog.aliases.promote("m", "production", 1, actor="cli:ana")
    second = catalog.aliases.promote("m", "production", 3, actor="run:7")
    assert (first.previous, first.version, first.changed) == (None, 1, True)
    assert (second.previous, second.version, second.changed) == (1, 3, True)
    assert catalog.resolve_model("m@production").version == 3
    assert _moves(catalog) == [
        ("production", "promote", 1, 3, "run:7"),
        ("production", "promote", None, 1, "cli:ana"),
    ]
    # the same entries are the audit log's, as the console's audit page lists them
    entries = AuditLog(catalog.store).list(PLATFORM, target="model_alias:m@production")
    versions = [(e.action, (e.before or {}).get("version"), e.after) for e in entries]
    assert [(a, before, (after or {}).get("version")) for a, before, after in versions] == [
        ("model_alias.promote", 1, 3),
        ("model_alias.promote", None, 1),
    ]
    (status,) = catalog.aliases.statuses("m")
    assert (status.alias, status.version, status.rollback_to) == ("production", 3, 1)
    assert status.updated_at == T0


def test_rollback_undoes_promotions_newest_first(catalog: Catalog) -> None:
    for version in (1, 2, 3):
        catalog.aliases.promote("m", "production", version, actor="cli:ana")
    back = catalog.aliases.rollback("m", "production", actor="admin:root")
    assert (back.previous, back.version, back.changed) == (3, 2, True)
    assert catalog.aliases.rollback("m", "production", actor="admin:root").version == 1
    assert catalog.resolve_model("m@production").version == 1
    with pytest.raises(NothingToRollBack, match="no earlier version"):
        catalog.aliases.rollback("m", "production", actor="admin:root")
    assert [a for _, a, *_ in _moves(catalog)] == ["rollback", "rollback", *["promote"] * 3]


def test_the_same_version_again_changes_nothing(catalog: Catalog) -> None:
    catalog.aliases.promote("m", "production", 2, actor="cli:ana")
    again = catalog.aliases.promote("m", "production", 2, actor="cli:ana")
    assert (again.previous, again.version, again.changed) == (2, 2, False)
    assert len(_moves(catalog)) == 1


def test_unknown_versions_and_aliases_are_refused_and_leave_no_entry(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="no model m:9"):
        catalog.aliases.promote("m", "production", 9, actor="cli:ana")
    with pytest.raises(CatalogError, match="no alias m@staging"):
        catalog.aliases.rollback("m", "staging", actor="cli:ana")
    with pytest.raises(CatalogError, match="invalid name"):
        catalog.aliases.promote("m", "bad alias!", 1, actor="cli:ana")
    assert _moves(catalog) == [] and catalog.aliases.statuses("m") == []


def test_history_is_per_model_and_per_alias(catalog: Catalog) -> None:
    catalog.add_model_version(
        "m2", catalog.staging_dir("model"), run_id=None, kind="causal-lm", num_parameters=1,
        metrics={},
    )  # fmt: skip
    catalog.aliases.promote("m", "production", 1, actor="a")
    catalog.aliases.promote("m", "staging", 2, actor="a")
    catalog.aliases.promote("m2", "production", 1, actor="a")
    catalog.aliases.promote("m", "staging", 3, actor="a")
    assert [(a, f, t) for a, _, f, t, _ in _moves(catalog)] == [
        ("staging", 2, 3),
        ("staging", None, 2),
        ("production", None, 1),
    ]
    # each alias rolls back along its own history
    assert catalog.aliases.rollback("m", "staging", actor="a").version == 2
    with pytest.raises(NothingToRollBack):
        catalog.aliases.rollback("m", "production", actor="a")


def _entry(action: str, before: int | None) -> AliasEntry:
    return AliasEntry("production", action, before, None, "a", T0)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], None),
        ([_entry("promote", None)], None),
        ([_entry("promote", 2)], 2),
        ([_entry("rollback", 3), _entry("promote", 3), _entry("promote", 1)], 1),
        ([_entry("rollback", 3), _entry("promote", 3)], None),
        ([_entry("promote", 4), _entry("rollback", 3), _entry("promote", 3)], 4),
    ],
)
def test_rollback_target_undoes_one_promotion_per_rollback(
    entries: list[AliasEntry], expected: int | None
) -> None:
    assert rollback_target(entries) == expected
