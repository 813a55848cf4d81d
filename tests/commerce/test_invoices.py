import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from modelmint.commerce import PLATFORM, CommerceError, NotFound, Scope, format_money
from modelmint.commerce.ledger import CreditNotes, Invoices
from modelmint.store import Invoice, Store, UsageEvent
from support.billing import BillingWorld, fixed_clock

RETAIL_A = (1_000_000, 2_000_000)  # direct tenants: $1 in, $2 out per million tokens
RETAIL_B = (1_500_000, 3_000_000)  # the same book after a price change mid-month
CH_RETAIL = (2_000_000, 4_000_000)  # the channel's own retail book
WHOLESALE = (700_000, 1_300_000)  # what the channel pays the platform


class Jan:
    """January 2025: a direct tenant whose price changed mid-month on chat:1 and who also
    used chat:2; a channel with two tenants; usage on both sides of the month's edges."""

    def __init__(self, store: Store, tmp_path: Path) -> None:
        w = self.w = BillingWorld(store, tmp_path / "artifacts")
        self.chat1, self.chat2 = w.model("chat"), w.model("chat")
        self.resell = w.channel("resell")
        self.other = w.channel("other")
        self.acme = w.tenant("acme")
        self.shop1 = w.tenant("shop1", self.resell)
        self.shop2 = w.tenant("shop2", self.resell)
        self.far = w.tenant("far", self.other)
        start, last = (
            datetime(2025, 1, 1, tzinfo=UTC),
            datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC),
        )
        self.acme_chat1_a = [
            w.use(self.acme, self.chat1, 1234, 567, price=RETAIL_A, at=start)[0],
            w.use(self.acme, self.chat1, 1, 1, price=RETAIL_A)[0],  # 3 micro-units, rounded up
        ]
        self.acme_chat1_b = [w.use(self.acme, self.chat1, 999, 333, price=RETAIL_B, at=last)[0]]
        self.acme_chat2 = [w.use(self.acme, self.chat2, 50_000, 20_000, price=RETAIL_A)[0]]
        w.use(
            self.acme, self.chat1, 10**6, 10**6, price=RETAIL_A, at=datetime(2025, 2, 1, tzinfo=UTC)
        )
        w.use(
            self.acme,
            self.chat1,
            10**6,
            10**6,
            price=RETAIL_A,
            at=datetime(2024, 12, 31, 23, 59, tzinfo=UTC),
        )
        self.shop1_costs = [
            w.use(self.shop1, self.chat1, 3000, 1000, price=CH_RETAIL, wholesale=WHOLESALE),
            w.use(self.shop1, self.chat2, 777, 7, price=CH_RETAIL, wholesale=WHOLESALE),
        ]
        self.shop2_costs = [
            w.use(self.shop2, self.chat1, 5, 5000, price=CH_RETAIL, wholesale=WHOLESALE)
        ]
        self.far_costs = [w.use(self.far, self.chat1, 10, 10, price=CH_RETAIL, wholesale=WHOLESALE)]


@pytest.fixture
def jan(store: Store, tmp_path: Path) -> Jan:
    return Jan(store, tmp_path)


def invoices(store: Store, tmp_path: Path, at: datetime | None = None) -> Invoices:
    return Invoices(store, tmp_path / "artifacts", fixed_clock(at) if at else fixed_clock())


def test_retail_lines_add_up_exactly_to_the_ledger(jan: Jan, store: Store, tmp_path: Path) -> None:
    inv = invoices(store, tmp_path)
    refs = {r.number: r for r in inv.generate("2025-01", PLATFORM)}
    number = f"INV-202501-T{jan.acme}"
    ref, doc = inv.show(PLATFORM, number)
    assert [
        (line.item, line.input_price_micros, line.output_price_micros) for line in doc.lines
    ] == [
        ("chat:1", *RETAIL_A),
        ("chat:1", *RETAIL_B),  # the price changed: a line of its own
        ("chat:2", *RETAIL_A),
    ]
    assert [line.amount_micros for line in doc.lines] == [
        sum(jan.acme_chat1_a),
        sum(jan.acme_chat1_b),
        sum(jan.acme_chat2),
    ]
    first = doc.lines[0]
    assert (first.requests, first.input_tokens, first.output_tokens) == (2, 1235, 568)
    # 1234 * 1 + 567 * 2 = 2368 micro-units and 1 + 2 = 3; after the price change
    # 999 * 1.5 + 333 * 3 = 2497.5, rounded up once for the request
    assert (jan.acme_chat1_a, jan.acme_chat1_b) == ([2368, 3], [2498])
    with store.session() as s:
        ledger = s.scalar(
            select(func.sum(UsageEvent.retail_micros)).where(
                UsageEvent.tenant_id == jan.acme,
                UsageEvent.created_at >= datetime(2025, 1, 1, tzinfo=UTC),
                UsageEvent.created_at < datetime(2025, 2, 1, tzinfo=UTC),
            )
        )
    assert ref.subtotal_micros == ref.total_micros == ledger == refs[number].total_micros
    assert ref.kind == "retail" and doc.issuer == "modelmint platform"


def test_channel_invoice_is_wholesale_with_margin_per_tenant(
    jan: Jan, store: Store, tmp_path: Path
) -> None:
    inv = invoices(store, tmp_path)
    inv.generate("2025-01", PLATFORM)
    ref, doc = inv.show(PLATFORM, f"INV-202501-C{jan.resell}")
    assert ref.kind == "wholesale" and ref.bill_to == "resell"
    wholesale = [c[1] for c in jan.shop1_costs + jan.shop2_costs]
    assert ref.total_micros == sum(wholesale)
    assert [(line.item, line.requests, line.amount_micros) for line in doc.lines] == [
        ("chat:1", 2, jan.shop1_costs[0][1] + jan.shop2_costs[0][1]),
        ("chat:2", 1, jan.shop1_costs[1][1]),
    ]
    assert all(line.input_price_micros is None for line in doc.lines)
    margins = {t.tenant: t for t in doc.tenants}
    assert set(margins) == {"shop1", "shop2"}
    for name, costs in [("shop1", jan.shop1_costs), ("shop2", jan.shop2_costs)]:
        t = margins[name]
        assert t.retail_micros == sum(c[0] for c in costs)
        assert t.wholesale_micros == sum(c[1] for c in costs)
        assert t.margin_micros == t.retail_micros - t.wholesale_micros > 0
    # the channel's tenants get retail invoices issued by the channel
    shop_ref, shop_doc = inv.show(PLATFORM, f"INV-202501-T{jan.shop1}")
    assert shop_doc.issuer == "resell"
    assert shop_ref.total_micros == margins["shop1"].retail_micros


def test_regenerating_gives_identical_rows_and_bytes(
    jan: Jan, store: Store, tmp_path: Path
) -> None:
    first = invoices(store, tmp_path).generate("2025-01", PLATFORM)
    files = {p: p.read_bytes() for r in first for p in (r.csv_path, r.html_path)}
    with store.session() as s:
        rows = {
            r.number: (r.id, r.lines, r.content_hash, r.generated_at)
            for r in s.scalars(select(Invoice))
        }
    later = invoices(store, tmp_path, datetime(2025, 3, 1, tzinfo=UTC))
    second = later.generate("2025-01", PLATFORM)
    assert [r.number for r in second] == [r.number for r in first]
    assert {p: p.read_bytes() for p in files} == files
    with store.session() as s:
        again = {
            r.number: (r.id, r.lines, r.content_hash, r.generated_at)
            for r in s.scalars(select(Invoice))
        }
    assert again == rows  # not even generated_at moved: nothing changed
    assert len(rows) == 6  # acme, shop1, shop2, far; channels resell and other
    html = files[first[0].html_path].decode()
    assert "2025-02-03" not in html and "09:30" not in html  # no generation time inside


def test_credit_notes_are_negative_lines_on_the_regenerated_invoice(
    jan: Jan, store: Store, tmp_path: Path
) -> None:
    inv = invoices(store, tmp_path)
    before = {r.number: r for r in inv.generate("2025-01", PLATFORM)}
    notes = CreditNotes(store, fixed_clock())
    n1 = notes.issue(
        PLATFORM, tenant="acme", period="2025-01", amount_micros=1_500, reason="outage <b>2h</b>"
    )
    notes.issue(PLATFORM, channel="resell", period="2025-01", amount_micros=700, reason="promo")
    # a channel credits its own tenant; that comes off the channel's margin, not our bill
    notes.issue(
        Scope(channel_id=jan.resell, actor="channel:resell"),
        tenant="shop2",
        period="2025-01",
        amount_micros=100,
        reason="goodwill",
    )
    notes.issue(PLATFORM, tenant="acme", period="2025-02", amount_micros=9, reason="next month")
    after = {
        r.number: r
        for r in invoices(store, tmp_path, datetime(2025, 3, 1, tzinfo=UTC)).generate(
            "2025-01", PLATFORM
        )
    }

    acme = after[f"INV-202501-T{jan.acme}"]
    assert acme.subtotal_micros == before[acme.number].subtotal_micros
    assert acme.credits_micros == 1_500
    assert acme.total_micros == acme.subtotal_micros - 1_500
    assert acme.content_hash != before[acme.number].content_hash
    assert acme.generated_at == datetime(2025, 3, 1, tzinfo=UTC)  # rewritten: it changed
    _, doc = inv.show(PLATFORM, acme.number)
    assert doc.lines[-1].kind == "credit" and doc.lines[-1].amount_micros == -1_500
    assert doc.lines[-1].item == f"{n1.number}: outage <b>2h</b>"
    html = acme.html_path.read_text()
    assert "outage &lt;b&gt;2h&lt;/b&gt;" in html and "<b>2h" not in html
    rows = list(csv.DictReader(io.StringIO(acme.csv_path.read_text())))
    by_kind = {r["kind"]: r for r in rows}
    assert by_kind["credit"]["amount"] == "-0.0015"
    assert by_kind["total"]["amount"] == format_money(acme.total_micros)
    assert by_kind["invoice"]["item"] == acme.number

    channel = after[f"INV-202501-C{jan.resell}"]
    assert channel.credits_micros == 700
    assert channel.total_micros == before[channel.number].total_micros - 700
    _, cdoc = inv.show(PLATFORM, channel.number)
    shop2 = next(t for t in cdoc.tenants if t.tenant == "shop2")
    assert shop2.credits_micros == 100
    assert shop2.margin_micros == shop2.retail_micros - 100 - shop2.wholesale_micros
    assert after[f"INV-202501-T{jan.shop2}"].credits_micros == 100
    # untouched invoices stay as they were
    far = after[f"INV-202501-T{jan.far}"]
    assert far.generated_at == before[far.number].generated_at


def test_credit_notes_never_take_an_invoice_below_zero(store: Store, tmp_path: Path) -> None:
    w = BillingWorld(store, tmp_path / "artifacts")
    quiet, chat = w.tenant("quiet"), w.model("chat")
    notes = CreditNotes(store)
    with pytest.raises(CommerceError, match=r"billed 0\.00 .* so 0\.00 is left to credit"):
        notes.issue(
            PLATFORM, tenant="quiet", period="2025-04", amount_micros=5_000_000, reason="refund"
        )
    april = datetime(2025, 4, 2, tzinfo=UTC)
    retail, _ = w.use(quiet, chat, 1000, 500, price=RETAIL_A, at=april)
    notes.issue(PLATFORM, tenant="quiet", period="2025-04", amount_micros=retail, reason="refund")
    (ref,) = invoices(store, tmp_path).generate("2025-04", PLATFORM)
    assert ref.number == f"INV-202504-T{quiet}"
    assert (ref.subtotal_micros, ref.credits_micros, ref.total_micros) == (retail, retail, 0)


def test_a_channel_sees_only_its_own_invoices(jan: Jan, store: Store, tmp_path: Path) -> None:
    inv = invoices(store, tmp_path)
    scope = Scope(channel_id=jan.resell, actor="channel:resell")
    made = inv.generate("2025-01", scope)
    mine = {f"INV-202501-T{jan.shop1}", f"INV-202501-T{jan.shop2}", f"INV-202501-C{jan.resell}"}
    assert {r.number for r in made} == mine
    assert sorted(p.name for p in inv.period_dir("2025-01").iterdir()) == sorted(
        f"{n}.{ext}" for n in mine for ext in ("csv", "html")
    )
    inv.generate("2025-01", PLATFORM)
    assert {r.number for r in inv.list(scope)} == mine
    assert len(inv.list(PLATFORM, "2025-01")) == 6
    for hidden in (f"INV-202501-T{jan.acme}", f"INV-202501-T{jan.far}", f"INV-202501-C{jan.other}"):
        with pytest.raises(NotFound, match="no invoice"):
            inv.show(scope, hidden)
    assert inv.list(PLATFORM, "2025-02") == []  # not generated yet
    assert inv.list(scope, "2024-12") == []


def test_bad_periods_are_refused_with_the_format(store: Store, tmp_path: Path) -> None:
    inv = invoices(store, tmp_path)
    for bad in ("2025-13", "0000-04", "2025/01", "jan", "2025-1"):
        with pytest.raises(CommerceError, match="YYYY-MM"):
            inv.generate(bad, PLATFORM)
    assert inv.generate("2030-01", PLATFORM) == []
