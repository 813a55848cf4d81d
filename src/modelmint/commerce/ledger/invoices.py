"""Monthly invoices, computed from the usage ledger and the credit notes of the period.

Per tenant with usage or credit notes in the month: a retail invoice, one line per model
version and price pair (the prices are fixed on each usage event, so a price change
within the month gives a second line), each line's amount the sum of its events'
``retail_micros``: the lines add up exactly to the ledger. Per channel: a wholesale
invoice for its tenants' usage (sum of ``wholesale_micros``) with what the channel
earned per tenant. Credit notes are negative lines.

An invoice is a pure function of the ledger and the credit notes, and its number comes
from the period and the account: regenerating a period rewrites the same rows and
byte-identical files (``artifacts/invoices/YYYY-MM/<number>.csv`` and ``.html``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modelmint.commerce.errors import NotFound
from modelmint.commerce.ledger.billing_periods import BillingPeriod, parse_period
from modelmint.commerce.ledger.invoice_documents import (
    content_hash,
    render_csv,
    render_html,
    write_if_changed,
)
from modelmint.commerce.ledger.invoice_model import (
    PLATFORM_NAME,
    InvoiceDocument,
    InvoiceLine,
    TenantMargin,
)
from modelmint.commerce.scope import Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.config.clock import utc as aware
from modelmint.store import Channel, CreditNote, Invoice, Store, Tenant, UsageEvent
from modelmint.store.catalog_tables import ModelVersion


@dataclass(frozen=True)
class InvoiceRef:
    number: str
    period: str
    kind: str  # "retail" | "wholesale"
    bill_to: str
    subtotal_micros: int
    credits_micros: int
    total_micros: int
    csv_path: Path
    html_path: Path
    content_hash: str
    generated_at: datetime


def tenant_number(period: BillingPeriod, tenant_id: int) -> str:
    return f"INV-{period.compact}-T{tenant_id}"


def channel_number(period: BillingPeriod, channel_id: int) -> str:
    return f"INV-{period.compact}-C{channel_id}"


def _credit_line(note: CreditNote) -> InvoiceLine:
    return InvoiceLine("credit", f"{note.number}: {note.reason}", amount_micros=-note.amount_micros)


def _usage_lines(s: Session, in_period: Any, *, by: Any, amount: Any, prices: bool) -> Any:
    """Usage lines grouped by ``by`` (tenant or channel) and model version, and by price
    pair when ``prices``; each line's amount is the sum of ``amount`` over its events."""
    price_cols = [UsageEvent.input_price_micros, UsageEvent.output_price_micros] if prices else []
    groups = [by, ModelVersion.name, ModelVersion.version, *price_cols]
    return s.execute(
        select(
            *groups,
            func.count(UsageEvent.id),
            func.sum(UsageEvent.prompt_tokens),
            func.sum(UsageEvent.completion_tokens),
            func.sum(amount),
        )
        .join(ModelVersion, ModelVersion.id == UsageEvent.model_version_id)
        .where(in_period, by.is_not(None))
        .group_by(*groups)
        # in a model version, price pairs in the order they were first used
        .order_by(ModelVersion.name, ModelVersion.version, func.min(UsageEvent.id))
    )


class _PeriodData:
    """Everything the invoices of one period (as one scope sees them) are made of, read in
    one transaction so the documents agree with each other."""

    def __init__(self, s: Session, period: BillingPeriod, scope: Scope) -> None:
        self.scope = scope
        in_period = (UsageEvent.created_at >= period.start) & (UsageEvent.created_at < period.end)
        self.tenants: dict[int, Tenant] = {t.id: t for t in s.scalars(select(Tenant))}
        self.channels: dict[int, Channel] = {c.id: c for c in s.scalars(select(Channel))}
        self.retail: dict[int, list[InvoiceLine]] = defaultdict(list)
        retail = _usage_lines(
            s, in_period, by=UsageEvent.tenant_id, amount=UsageEvent.retail_micros, prices=True
        )
        for tid, name, ver, p_in, p_out, n, tin, tout, total in retail:
            line = InvoiceLine("usage", f"{name}:{ver}", n, int(tin), int(tout), p_in, p_out)
            self.retail[int(tid)].append(replace(line, amount_micros=int(total)))
        # the ledger keeps each request's wholesale cost, not the wholesale unit prices
        self.wholesale: dict[int, list[InvoiceLine]] = defaultdict(list)
        wholesale = _usage_lines(
            s, in_period, by=UsageEvent.channel_id, amount=UsageEvent.wholesale_micros, prices=False
        )
        for cid, name, ver, n, tin, tout, total in wholesale:
            line = InvoiceLine("usage", f"{name}:{ver}", n, int(tin), int(tout))
            self.wholesale[int(cid)].append(replace(line, amount_micros=int(total)))
        # what each channel's tenant brought: (requests, retail, wholesale)
        self.by_channel_tenant: dict[int, dict[int, tuple[int, int, int]]] = defaultdict(dict)
        margins = (
            select(
                UsageEvent.channel_id,
                UsageEvent.tenant_id,
                func.count(UsageEvent.id),
                func.sum(UsageEvent.retail_micros),
                func.sum(UsageEvent.wholesale_micros),
            )
            .where(in_period, UsageEvent.channel_id.is_not(None))
            .group_by(UsageEvent.channel_id, UsageEvent.tenant_id)
        )
        for cid, tid, n, retail_sum, wholesale_sum in s.execute(margins):
            assert cid is not None  # selected so
            self.by_channel_tenant[cid][tid] = (n, int(retail_sum), int(wholesale_sum))
        self.tenant_notes: dict[int, list[CreditNote]] = defaultdict(list)
        self.channel_notes: dict[int, list[CreditNote]] = defaultdict(list)
        notes = select(CreditNote).where(CreditNote.period == period.text).order_by(CreditNote.id)
        for note in s.scalars(notes):
            if note.tenant_id is not None:
                self.tenant_notes[note.tenant_id].append(note)
            elif note.channel_id is not None:
                self.channel_notes[note.channel_id].append(note)

    def tenant_ids(self) -> list[int]:
        ids = set(self.retail) | set(self.tenant_notes)
        return sorted(i for i in ids if self._visible_tenant(i))

    def channel_ids(self) -> list[int]:
        ids = set(self.wholesale) | set(self.channel_notes)
        ids |= {
            cid for tid in self.tenant_notes if (cid := self.tenants[tid].channel_id) is not None
        }
        return sorted(i for i in ids if self.scope.channel_id in (None, i))

    def _visible_tenant(self, tenant_id: int) -> bool:
        return self.scope.channel_id in (None, self.tenants[tenant_id].channel_id)

    def tenant_document(self, period: BillingPeriod, tenant_id: int) -> InvoiceDocument:
        t = self.tenants[tenant_id]
        issuer = self.channels[t.channel_id].name if t.channel_id is not None else PLATFORM_NAME
        lines = [*self.retail.get(tenant_id, []), *map(_credit_line, self.tenant_notes[tenant_id])]
        return InvoiceDocument(
            tenant_number(period, tenant_id), period.text, "retail", t.name, issuer, tuple(lines)
        )

    def channel_document(self, period: BillingPeriod, channel_id: int) -> InvoiceDocument:
        c = self.channels[channel_id]
        lines = [
            *self.wholesale.get(channel_id, []),
            *map(_credit_line, self.channel_notes[channel_id]),
        ]
        used = self.by_channel_tenant.get(channel_id, {})
        credited = {tid for tid in self.tenant_notes if self.tenants[tid].channel_id == channel_id}
        margins = []
        for tid in sorted(set(used) | credited, key=lambda i: self.tenants[i].name):
            n, retail, wholesale = used.get(tid, (0, 0, 0))
            credits = sum(note.amount_micros for note in self.tenant_notes.get(tid, []))
            margins.append(TenantMargin(self.tenants[tid].name, n, retail, credits, wholesale))
        return InvoiceDocument(
            channel_number(period, channel_id),
            period.text,
            "wholesale",
            c.name,
            PLATFORM_NAME,
            tuple(lines),
            tuple(margins),
        )


class Invoices:
    def __init__(self, store: Store, artifacts_dir: Path, clock: Clock = utc_now) -> None:
        self.store = store
        self.artifacts_dir = artifacts_dir
        self.clock = clock

    def period_dir(self, period: str) -> Path:
        return self.artifacts_dir / "invoices" / parse_period(period).text

    def generate(self, period: str, scope: Scope) -> list[InvoiceRef]:
        """Generates (or regenerates) every invoice of ``period`` this scope may see: a
        channel scope, its own tenants' invoices and its own wholesale invoice."""
        p = parse_period(period)
        with self.store.session() as s:
            data = _PeriodData(s, p, scope)
            # each with the id of whom it bills: names are unique per owner only
            docs = [(data.tenant_document(p, i), i) for i in data.tenant_ids()]
            docs += [(data.channel_document(p, i), i) for i in data.channel_ids()]
        out_dir = self.period_dir(p.text)
        out_dir.mkdir(parents=True, exist_ok=True)
        refs = []
        for doc, account_id in docs:
            csv_bytes, html_bytes = render_csv(doc), render_html(doc)
            write_if_changed(out_dir / f"{doc.number}.csv", csv_bytes)
            write_if_changed(out_dir / f"{doc.number}.html", html_bytes)
            digest = content_hash(csv_bytes, html_bytes)
            refs.append(self._upsert(doc, account_id, digest, out_dir))
        return refs

    def _upsert(
        self, doc: InvoiceDocument, account_id: int, digest: str, out_dir: Path
    ) -> InvoiceRef:
        """Same content: the row is left as it is (generated_at too). Changed content (a
        credit note issued since): the row is rewritten. Two generators racing to insert
        the same number: the second finds the first's row and compares."""
        for attempt in range(2):
            try:
                with self.store.session() as s:
                    row = s.scalar(select(Invoice).where(Invoice.number == doc.number))
                    values = self._values(s, doc, account_id, digest, out_dir)
                    if row is None:
                        row = Invoice(**values, generated_at=self.clock())
                        s.add(row)
                    elif any(getattr(row, k) != v for k, v in values.items()):
                        for k, v in values.items():
                            setattr(row, k, v)
                        row.generated_at = self.clock()
                    s.flush()
                    return self._ref(row, doc.bill_to)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _values(
        s: Session, doc: InvoiceDocument, account_id: int, digest: str, out_dir: Path
    ) -> dict[str, Any]:
        """``account_id``: the tenant's id (a retail invoice) or the channel's."""
        tenant_id: int | None
        if doc.kind == "retail":
            tenant = s.get_one(Tenant, account_id)
            tenant_id, channel_id = tenant.id, tenant.channel_id
        else:
            tenant_id, channel_id = None, account_id
        return {
            "number": doc.number,
            "period": doc.period,
            "tenant_id": tenant_id,
            # a tenant's invoice: the channel that issues it (None: the platform), so a
            # channel lists its tenants' invoices; a channel's invoice: that channel
            "channel_id": channel_id,
            "lines": doc.rows_json(),
            "subtotal_micros": doc.subtotal_micros,
            "credits_micros": doc.credits_micros,
            "total_micros": doc.total_micros,
            "content_hash": digest,
            "path": str(out_dir),
        }

    @staticmethod
    def _ref(row: Invoice, bill_to: str) -> InvoiceRef:
        folder = Path(row.path)
        return InvoiceRef(
            row.number,
            row.period,
            "retail" if row.tenant_id is not None else "wholesale",
            bill_to,
            row.subtotal_micros,
            row.credits_micros,
            row.total_micros,
            folder / f"{row.number}.csv",
            folder / f"{row.number}.html",
            row.content_hash,
            aware(row.generated_at),
        )

    def _visible(self, scope: Scope) -> Any:
        q = (
            select(Invoice, Tenant.name, Channel.name)
            .outerjoin(Tenant, Tenant.id == Invoice.tenant_id)
            .outerjoin(Channel, Channel.id == Invoice.channel_id)
        )
        if scope.channel_id is not None:
            q = q.where(Invoice.channel_id == scope.channel_id)
        return q

    def list(self, scope: Scope, period: str | None = None) -> list[InvoiceRef]:
        q = self._visible(scope).order_by(Invoice.period, Invoice.number)
        if period is not None:
            q = q.where(Invoice.period == parse_period(period).text)
        with self.store.session() as s:
            return [self._ref(row, t or c) for row, t, c in s.execute(q)]

    def show(self, scope: Scope, number: str) -> tuple[InvoiceRef, InvoiceDocument]:
        """The invoice as stored (the same lines its documents show)."""
        with self.store.session() as s:
            found = s.execute(self._visible(scope).where(Invoice.number == number)).first()
            if found is None:
                raise NotFound(
                    f"no invoice {number!r}; see `mint invoices list` "
                    "or generate the period with `mint invoices generate --period YYYY-MM`"
                )
            row, tenant, channel = found
            ref = self._ref(row, tenant or channel)
            issuer = PLATFORM_NAME
            if row.tenant_id is not None and row.channel_id is not None:
                issuer = s.get_one(Channel, row.channel_id).name
        doc = InvoiceDocument.from_rows(
            ref.number, ref.period, ref.kind, ref.bill_to, issuer, list(row.lines)
        )
        return ref, doc
