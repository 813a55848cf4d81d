from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from modelmint.commerce import PLATFORM, AuditLog, CommerceError, NotFound, Scope
from modelmint.commerce.ledger import CreditNotes, Invoices
from modelmint.store import AuditEntry, CreditNote, Store
from support.billing import JAN, BillingWorld, fixed_clock

FEB = datetime(2025, 2, 10, tzinfo=UTC)
# each tenant's bill is 2,000 micro-units a month (1,000 tokens in, 500 out), and for a
# channel's tenant the channel's bill 1,000
RETAIL, WHOLESALE = (1_000_000, 2_000_000), (500_000, 1_000_000)


@pytest.fixture
def channels(store: Store, tmp_path: Path) -> dict[str, int]:
    """Channels resell (tenant shop) and other (tenant far); acme is direct. Every tenant
    was billed in January and February 2025."""
    w = BillingWorld(store, tmp_path / "artifacts")
    ids = {"resell": w.channel("resell"), "other": w.channel("other")}
    model = w.model("chat")
    tenants = [w.tenant("acme"), w.tenant("shop", ids["resell"]), w.tenant("far", ids["other"])]
    for tenant_id in tenants:
        for at in (JAN, FEB):
            w.use(tenant_id, model, 1000, 500, price=RETAIL, wholesale=WHOLESALE, at=at)
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


def test_credit_notes_never_add_up_to_more_than_the_bill(
    channels: dict[str, int], store: Store, tmp_path: Path
) -> None:
    notes = CreditNotes(store, fixed_clock())
    jan = {"period": "2025-01", "reason": "outage"}
    notes.issue(PLATFORM, tenant="acme", amount_micros=1_500, **jan)
    with pytest.raises(CommerceError) as refused:
        notes.issue(PLATFORM, tenant="acme", amount_micros=600, **jan)
    message = str(refused.value)
    assert "the 2025-01 bill of tenant 'acme' billed 0.002" in message
    assert "0.0015 credited already, so 0.0005 is left to credit" in message
    assert "mint wallets credit acme" in message  # what to do for money beyond the bill
    notes.issue(PLATFORM, tenant="acme", amount_micros=500, **jan)
    with pytest.raises(CommerceError, match=r"so 0\.00 is left to credit"):
        notes.issue(PLATFORM, tenant="acme", amount_micros=1, **jan)
    notes.issue(PLATFORM, tenant="acme", period="2025-02", amount_micros=2_000, reason="x")
    # a channel's bill is its wholesale usage; a channel crediting its tenant is capped
    # by what it billed that tenant at retail
    with pytest.raises(CommerceError, match=r"channel 'resell' billed 0\.001 "):
        notes.issue(PLATFORM, channel="resell", amount_micros=1_001, **jan)
    notes.issue(PLATFORM, channel="resell", amount_micros=1_000, **jan)
    resell = Scope(channel_id=channels["resell"], actor="channel:resell:abc")
    with pytest.raises(CommerceError, match=r"billed 0\.002 "):
        notes.issue(resell, tenant="shop", amount_micros=2_001, **jan)
    with pytest.raises(CommerceError, match=r"billed 0\.00 and"):  # nothing billed in March
        notes.issue(PLATFORM, tenant="acme", period="2025-03", amount_micros=1, reason="x")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(CreditNote)) == 4
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 4
    refs = Invoices(store, tmp_path / "artifacts", fixed_clock()).generate("2025-01", PLATFORM)
    assert min(r.total_micros for r in refs) == 0
    acme = next(r for r in refs if r.bill_to == "acme")
    assert (acme.subtotal_micros, acme.credits_micros, acme.total_micros) == (2_000, 2_000, 0)


def test_notes_issued_at_once_still_fit_the_bill(channels: dict[str, int], store: Store) -> None:
    """Each checks what is left and inserts in one locked transaction: of eight notes of
    600 against a bill of 2,000, three fit, whatever the interleaving."""
    notes = CreditNotes(store)

    def issue(i: int) -> bool:
        try:
            notes.issue(
                PLATFORM, tenant="acme", period="2025-01", amount_micros=600, reason=f"n{i}"
            )
        except CommerceError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        issued = list(pool.map(issue, range(8)))
    assert sum(issued) == 3
    with store.session() as s:
        total = s.scalar(select(func.sum(CreditNote.amount_micros)))
    assert total == 1_800
