"""Commerce: who may call (accounts and keys), at what price (pricing), within which limits
(admission), what was delivered and billed (ledger) and what it earned (economics): pure domain
logic over the store.

This front door holds what every part shares: the errors, money as integer micro-units, the
admin scope and the audit log. Each part is a subpackage whose ``__init__`` is its interface;
code outside commerce imports from those front doors, never from the modules behind them."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.commerce.audit import AuditLog, AuditRecord
    from modelmint.commerce.choices import PERIODS
    from modelmint.commerce.errors import CommerceError, NotFound
    from modelmint.commerce.money import format_money, parse_money, request_cost
    from modelmint.commerce.scope import PLATFORM, Scope

__all__ = [
    "PERIODS",
    "PLATFORM",
    "AuditLog",
    "AuditRecord",
    "CommerceError",
    "NotFound",
    "Scope",
    "format_money",
    "parse_money",
    "request_cost",
]

lazy_exports(__name__)
