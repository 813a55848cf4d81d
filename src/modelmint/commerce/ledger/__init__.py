"""The ledger and invoices: the append-only usage events and wallet entries, credit notes, and
the monthly invoices built from them."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.commerce.ledger.billing_periods import BillingPeriod, parse_period
    from modelmint.commerce.ledger.credit_notes import CreditNoteRef, CreditNotes
    from modelmint.commerce.ledger.invoice_documents import render_csv, render_html
    from modelmint.commerce.ledger.invoice_model import InvoiceDocument
    from modelmint.commerce.ledger.invoices import InvoiceRef, Invoices
    from modelmint.commerce.ledger.spend_totals import add_spend, rebuild_spend_totals
    from modelmint.commerce.ledger.usage import UsageLedger, UsageRecord, UsageSummary
    from modelmint.commerce.ledger.wallet_rule import WalletBalance
    from modelmint.commerce.ledger.wallets import WalletEntryInfo, Wallets

__all__ = [
    "BillingPeriod",
    "CreditNoteRef",
    "CreditNotes",
    "InvoiceDocument",
    "InvoiceRef",
    "Invoices",
    "UsageLedger",
    "UsageRecord",
    "UsageSummary",
    "WalletBalance",
    "WalletEntryInfo",
    "Wallets",
    "add_spend",
    "parse_period",
    "rebuild_spend_totals",
    "render_csv",
    "render_html",
]

lazy_exports(__name__)
