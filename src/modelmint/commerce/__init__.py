"""Commerce: channels, tenants, API and admin keys, price books, the audit log and the usage
ledger (pure domain logic over the store)."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.commerce.admin_keys import (
        AdminKeyInfo,
        AdminKeys,
        AdminPrincipal,
        CreatedAdminKey,
    )
    from modelmint.commerce.audit import AuditLog, AuditRecord
    from modelmint.commerce.channels import ChannelRef, Channels
    from modelmint.commerce.errors import CommerceError, NotFound
    from modelmint.commerce.keys import ApiKeys, CreatedKey, KeyInfo, KeyPrincipal
    from modelmint.commerce.prices import PriceBookRef, PriceBooks, PriceRow, Quote
    from modelmint.commerce.scope import PLATFORM, Scope
    from modelmint.commerce.tenants import UNSET, TenantRef, Tenants
    from modelmint.commerce.usage import ModelUsage, UsageLedger, UsageRecord, UsageSummary

__all__ = [
    "PLATFORM",
    "UNSET",
    "AdminKeyInfo",
    "AdminKeys",
    "AdminPrincipal",
    "ApiKeys",
    "AuditLog",
    "AuditRecord",
    "ChannelRef",
    "Channels",
    "CommerceError",
    "CreatedAdminKey",
    "CreatedKey",
    "KeyInfo",
    "KeyPrincipal",
    "ModelUsage",
    "NotFound",
    "PriceBookRef",
    "PriceBooks",
    "PriceRow",
    "Quote",
    "Scope",
    "TenantRef",
    "Tenants",
    "UsageLedger",
    "UsageRecord",
    "UsageSummary",
]

lazy_exports(__name__)
