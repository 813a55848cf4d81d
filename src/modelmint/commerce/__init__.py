"""Commerce: tenants, API keys and the usage ledger (pure domain logic over the store)."""

from modelmint.commerce.errors import CommerceError
from modelmint.commerce.keys import ApiKeys, CreatedKey, KeyInfo, KeyPrincipal
from modelmint.commerce.tenants import TenantRef, Tenants
from modelmint.commerce.usage import ModelUsage, UsageLedger, UsageRecord, UsageSummary

__all__ = [
    "ApiKeys",
    "CommerceError",
    "CreatedKey",
    "KeyInfo",
    "KeyPrincipal",
    "ModelUsage",
    "TenantRef",
    "Tenants",
    "UsageLedger",
    "UsageRecord",
    "UsageSummary",
]
