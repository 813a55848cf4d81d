"""The admin API under ``/admin/v1``: one router per concern, each route authorized by an
admin key whose scope (platform or one channel) every service call is given."""

from fastapi import APIRouter

from modelmint.gateway.admin import (
    admin_keys,
    audit,
    budgets,
    channels,
    credit_notes,
    data,
    economics,
    invoices,
    keys,
    labeling,
    models,
    prices,
    releases,
    serving,
    tenants,
    usage,
    wallets,
)
from modelmint.gateway.admin.services import AdminServices

ROUTERS: tuple[APIRouter, ...] = tuple(
    m.router
    for m in (
        channels,
        tenants,
        wallets,
        keys,
        admin_keys,
        prices,
        budgets,
        usage,
        invoices,
        credit_notes,
        audit,
        economics,
        serving,
        # the console's models, data and training, and labeling pages
        models,
        releases,
        data,
        labeling,
    )
)

__all__ = ["ROUTERS", "AdminServices"]
