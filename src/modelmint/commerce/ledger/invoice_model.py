"""What an invoice says, as plain values: the lines, the totals and (on a channel's
invoice) what the channel earned per tenant. Built from the ledger by ``invoices``,
rendered by ``invoice_documents``, stored as JSON in ``invoices.lines``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PLATFORM_NAME = "modelmint platform"


@dataclass(frozen=True)
class InvoiceLine:
    """``usage``: the requests of one model version at one price pair (retail invoices;
    a price change within the month makes a second line) or at wholesale (channel
    invoices, where the unit prices are not part of the ledger and stay None).
    ``credit``: a credit note, with a negative amount."""

    kind: str  # "usage" | "credit"
    item: str  # model label, or the credit note's number and reason
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_price_micros: int | None = None  # per million tokens
    output_price_micros: int | None = None
    amount_micros: int = 0


@dataclass(frozen=True)
class TenantMargin:
    """On a channel's invoice: one of its tenants, what the channel billed it (retail,
    less the credit notes the tenant got), what the platform bills the channel for it
    (wholesale), and the difference the channel keeps."""

    tenant: str
    requests: int
    retail_micros: int
    credits_micros: int
    wholesale_micros: int

    @property
    def margin_micros(self) -> int:
        return self.retail_micros - self.credits_micros - self.wholesale_micros


@dataclass(frozen=True)
class InvoiceDocument:
    number: str
    period: str  # YYYY-MM
    kind: str  # "retail" (a tenant's bill) | "wholesale" (a channel's bill)
    bill_to: str  # tenant or channel name
    issuer: str  # the tenant's channel, or the platform
    lines: tuple[InvoiceLine, ...]
    tenants: tuple[TenantMargin, ...] = field(default_factory=tuple)

    @property
    def subtotal_micros(self) -> int:
        return sum(line.amount_micros for line in self.lines if line.kind == "usage")

    @property
    def credits_micros(self) -> int:
        """Positive: the sum of the credit notes taken off."""
        return -sum(line.amount_micros for line in self.lines if line.kind == "credit")

    @property
    def total_micros(self) -> int:
        return self.subtotal_micros - self.credits_micros

    def rows_json(self) -> list[dict[str, Any]]:
        """The lines and tenant margins as stored in ``invoices.lines``."""
        rows = [asdict(line) for line in self.lines]
        rows += [{"kind": "tenant", **asdict(t)} for t in self.tenants]
        return rows

    @classmethod
    def from_rows(
        cls, number: str, period: str, kind: str, bill_to: str, issuer: str, rows: list[Any]
    ) -> InvoiceDocument:
        lines = tuple(InvoiceLine(**r) for r in rows if r["kind"] != "tenant")
        tenants = tuple(
            TenantMargin(**{k: v for k, v in r.items() if k != "kind"})
            for r in rows
            if r["kind"] == "tenant"
        )
        return cls(number, period, kind, bill_to, issuer, lines, tenants)
