from pathlib import Path

import pytest
from sqlalchemy import select

from billing_support import BillingWorld, fixed_clock
from modelmint.commerce import CommerceError
from modelmint.commerce.audit import AuditLog
from modelmint.commerce.credit_notes import CreditNotes
from modelmint.commerce.errors import NotFound
from modelmint.commerce.scope import PLATFORM, Scope
from modelmint.store import AuditEntry, CreditNote, Store


@pytest.fixture
def channels(store: Store, tmp_path: Path) -> dict[str, int]:
    """Channels resell (tenant shop) and other (tenant far); acme is direct."""
    w = BillingWorld(store, tmp_path / "artifacts")
    ids = {"resell": w.channel("resell"), "other": w.channel("other")}
    w.tenant("acme")
    w.tenant("shop", ids["resell"])
    w.tenant("far", ids["other"])
    return ids


def test_numbers_count_per_period_and_every_note_is_audited(
    channels: dict[str, int], store: Store
) -> None:
    notes = CreditNotes(store, fixed_clock())
    admin = Scope(actor="cli:alice")
    a = notes.issue(admin, tenant="acme", period="2025-01", amount_micros=1_000, reason="outage")
    b = notes.issue(admin, channel="resell", period="2025-01", amount_micros=2, reason=" promo ")
    c = notes.issue(admin, tenant="acme", period="2025-02", amount_micros=3, reason="late")
    assert [a.number, b.number, c.number] == ["CN-202501-1", "CN-202501-2", "CN-202502-1"]
    assert (a.tenant, a.channel, b.tenant, b.channel) == ("acme", None, None, "resell")
    assert b.reason == "promo" and a.actor == "cli:alice"
    with store.session() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("cli:alice", "credit_note.issue", "credit_note:CN-202501-1"),
        ("cli:alice", "credit_note.issue", "credit_note:CN-202501-2"),
        ("cli:alice", "credit_note.issue", "credit_note:CN-202502-1"),
    ]
    assert entries[0].before is None
    assert entries[0].after is not None and entries[0].after["amount_micros"] == 1_000
    # the credited channel sees the note on its wholesale bill in its own audit log
    resell = Scope(channel_id=channels["resell"])
    assert [e.target for e in AuditLog(store).list(resell)] == ["credit_note:CN-202501-2"]


def test_a_channel_credits_only_its_own_tenants(channels: dict[str, int], store: Store) -> None:
    notes = CreditNotes(store)
    resell = Scope(channel_id=channels["resell"], actor="channel:resell:abc")
    mine = notes.issue(resell, tenant="shop", period="2025-01", amount_micros=5, reason="sorry")
    assert mine.number == "CN-202501-1"
    with pytest.raises(NotFound, match="no tenant 'far'"):
        notes.issue(resell, tenant="far", period="2025-01", amount_micros=5, reason="x")
    with pytest.raises(NotFound, match="no tenant 'acme'"):
        notes.issue(resell, tenant="acme", period="2025-01", amount_micros=5, reason="x")
    with pytest.raises(NotFound):  # its own wholesale bill is the platform's to adjust
        notes.issue(resell, channel="resell", period="2025-01", amount_micros=5, reason="x")
    notes.issue(PLATFORM, tenant="far", period="2025-01", amount_micros=7, reason="platform")
    notes.issue(PLATFORM, channel="resell", period="2025-01", amount_micros=8, reason="platform")
    assert [n.number for n in notes.list(resell)] == ["CN-202501-1", "CN-202501-3"]
    assert len(notes.list(PLATFORM)) == 3
    assert notes.list(PLATFORM, "2025-02") == []
    with store.session() as s:
        assert len(s.scalars(select(CreditNote)).all()) == 3  # refused ones left nothing


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tenant": "acme", "amount_micros": 0}, "must be positive"),
        ({"tenant": "acme", "amount_micros": -5}, "must be positive"),
        ({"tenant": "acme", "amount_micros": 1.5}, "integer micro-units"),
        ({"tenant": "acme", "channel": "resell"}, "give one"),
        ({}, "give one"),
        ({"tenant": "acme", "reason": "  "}, "needs a reason"),
        ({"tenant": "acme", "period": "2025-1"}, "YYYY-MM"),
        ({"tenant": "ghost"}, "no tenant 'ghost'"),
        ({"channel": "ghost"}, "no channel 'ghost'"),
    ],
)
def test_bad_credit_notes_are_refused_clearly(
    channels: dict[str, int], store: Store, kwargs: dict, message: str
) -> None:
    args = {"period": "2025-01", "amount_micros": 10, "reason": "why", **kwargs}
    with pytest.raises(CommerceError, match=message):
        CreditNotes(store).issue(PLATFORM, **args)
    with store.session() as s:
        assert s.scalars(select(CreditNote)).all() == []
        assert s.scalars(select(AuditEntry)).all() == []
