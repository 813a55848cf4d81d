"""What the catalog accepts as a name (of a dataset, a model, an alias) and as a model spec.
Commerce names its tenants, channels and price books by the same rule, and checks the
models a key may call against the same spec, so both import them from here."""

from __future__ import annotations

import re

from modelmint.catalog.errors import CatalogError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MODEL_SPEC_RE = re.compile(r"^(?P<name>[^:@]+)(?::(?P<version>\d+)|@(?P<alias>[A-Za-z0-9._-]+))?$")


def check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise CatalogError(
            f"invalid name {name!r}: use letters, digits, '.', '_' or '-' (at most 100)"
        )
