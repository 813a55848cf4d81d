"""SQLAlchemy tables, sessions and Alembic migrations.

The catalog's tables (datasets, runs, model versions, evaluations, aliases) are not exported
here: the catalog answers for them, and the few that join them in SQL import them from
``modelmint.store.catalog_tables``. They are imported all the same, so that ``Base.metadata``
(the migrations, every foreign key to a model version) holds every table."""

# imported for Base.metadata, not exported (see above)
from modelmint.store import catalog_tables as catalog_tables
from modelmint.store.audit import write_audit
from modelmint.store.commerce_tables import (
    AdminKey,
    ApiKey,
    AuditEntry,
    Budget,
    BudgetAlert,
    Channel,
    CommerceRevision,
    CreditNote,
    GatewayInstance,
    Invoice,
    Price,
    PriceBook,
    Reservation,
    SpendTotal,
    Tenant,
    UsageEvent,
    WalletCreditLot,
    WalletEntry,
    WalletRunningBalance,
)
from modelmint.store.db import Store, make_engine, migrate
from modelmint.store.labeling_tables import (
    Annotation,
    Feedback,
    LabelAssignment,
    LabelItem,
    LabelProject,
    Transcript,
)
from modelmint.store.revision import RevisionCache, commerce_revision
from modelmint.store.tables import Base, core_table
from modelmint.store.web_tables import RevokedWebSession

__all__ = [
    "AdminKey",
    "Annotation",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Budget",
    "BudgetAlert",
    "Channel",
    "CommerceRevision",
    "CreditNote",
    "Feedback",
    "GatewayInstance",
    "Invoice",
    "LabelAssignment",
    "LabelItem",
    "LabelProject",
    "Price",
    "PriceBook",
    "Reservation",
    "RevisionCache",
    "RevokedWebSession",
    "SpendTotal",
    "Store",
    "Tenant",
    "Transcript",
    "UsageEvent",
    "WalletCreditLot",
    "WalletEntry",
    "WalletRunningBalance",
    "commerce_revision",
    "core_table",
    "make_engine",
    "migrate",
    "write_audit",
]
