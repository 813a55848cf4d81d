"""An invoice as files: a CSV (one flat table, exact decimal amounts) and a printable
HTML page (Jinja2, ``templates/invoice.html``). Both are pure functions of the
``InvoiceDocument``: no generation time or anything else that changes between runs, so
regenerating a period gives byte-identical files."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

from modelmint.commerce.ledger.invoice_model import InvoiceDocument
from modelmint.commerce.money import format_money
from modelmint.observability.html_pages import html_templates

CSV_COLUMNS = [
    "kind",
    "item",
    "requests",
    "input_tokens",
    "output_tokens",
    "input_price_per_mtok",
    "output_price_per_mtok",
    "amount",
    "retail",
    "credits",
    "wholesale",
    "margin",
]

_env = html_templates("modelmint.commerce.ledger")
_env.filters["money"] = format_money


def _money(micros: int | None) -> str:
    return "" if micros is None else format_money(micros)


def render_csv(doc: InvoiceDocument) -> bytes:
    """Header rows (``invoice``, ``period``, ``type``, ``bill_to``, ``issuer``: the value
    in ``item``), then the lines, the totals and, on a channel's invoice, one ``tenant``
    row per tenant. Amounts are exact decimals (micro-units written out)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    blank = [""] * (len(CSV_COLUMNS) - 2)
    for key, value in [
        ("invoice", doc.number),
        ("period", doc.period),
        ("type", doc.kind),
        ("bill_to", doc.bill_to),
        ("issuer", doc.issuer),
    ]:
        w.writerow([key, value, *blank])
    for line in doc.lines:
        w.writerow(
            [
                line.kind,
                line.item,
                line.requests if line.kind == "usage" else "",
                line.input_tokens if line.kind == "usage" else "",
                line.output_tokens if line.kind == "usage" else "",
                _money(line.input_price_micros),
                _money(line.output_price_micros),
                _money(line.amount_micros),
                "",
                "",
                "",
                "",
            ]
        )
    for key, micros in [
        ("subtotal", doc.subtotal_micros),
        ("credits", -doc.credits_micros),
        ("total", doc.total_micros),
    ]:
        w.writerow([key, "", "", "", "", "", "", _money(micros), "", "", "", ""])
    for t in doc.tenants:
        w.writerow(
            [
                "tenant",
                t.tenant,
                t.requests,
                "",
                "",
                "",
                "",
                "",
                _money(t.retail_micros),
                _money(t.credits_micros),
                _money(t.wholesale_micros),
                _money(t.margin_micros),
            ]
        )
    return buf.getvalue().encode()


def render_html(doc: InvoiceDocument) -> bytes:
    return _env.get_template("invoice.html").render(doc=doc).encode()


def content_hash(csv_bytes: bytes, html_bytes: bytes) -> str:
    return hashlib.sha256(csv_bytes + b"\0" + html_bytes).hexdigest()


def write_if_changed(path: Path, data: bytes) -> None:
    """Atomic (a reader never sees half a file) and a no-op when the bytes are the same."""
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
