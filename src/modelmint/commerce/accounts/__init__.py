"""Accounts and keys: channels (partners who resell), their tenants (the customers), the API
keys tenants call with and the admin keys that manage them."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.commerce.accounts.admin_keys import (
        AdminKeyInfo,
        AdminKeys,
        AdminPrincipal,
        CreatedAdminKey,
    )
    from modelmint.commerce.accounts.channels import ChannelRef, Channels
    from modelmint.commerce.accounts.credentials import (
        hash_secret,
        new_key,
        same_secret,
        split_key,
    )
    from modelmint.commerce.accounts.keys import ApiKeys, CreatedKey, KeyInfo, KeyPrincipal
    from modelmint.commerce.accounts.tenants import QUALIFIER, UNSET, TenantRef, Tenants, Unset

__all__ = [
    "QUALIFIER",
    "UNSET",
    "AdminKeyInfo",
    "AdminKeys",
    "AdminPrincipal",
    "ApiKeys",
    "ChannelRef",
    "Channels",
    "CreatedAdminKey",
    "CreatedKey",
    "KeyInfo",
    "KeyPrincipal",
    "TenantRef",
    "Tenants",
    "Unset",
    "hash_secret",
    "new_key",
    "same_secret",
    "split_key",
]

lazy_exports(__name__)
