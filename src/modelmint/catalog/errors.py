"""The catalog's errors, apart from the catalog, so callers that only catch them stay light."""

from modelmint.errors import UserError


class CatalogError(UserError, ValueError):
    """A name, version or alias that does not exist or is not allowed."""


class NothingToRollBack(CatalogError):
    """An alias with no promotion left to undo: never promoted from another version, or
    every promotion was already rolled back."""
