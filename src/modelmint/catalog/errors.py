"""The catalog's errors, apart from the catalog, so callers that only catch them stay light."""

from modelmint.errors import UserError


class CatalogError(UserError, ValueError):
    """A name, version or alias that does not exist or is not allowed."""


class NothingToRollBack(CatalogError):
    """An alias with no promotion left to undo: never promoted from another version, or
    every promotion was already rolled back."""


class FileRejected(CatalogError):
    """An upload refused before anything of it was kept: its content, its name or its
    purpose. ``param`` names the request field at fault (``file`` or ``purpose``)."""

    def __init__(self, message: str, param: str = "file") -> None:
        super().__init__(message)
        self.param = param


class FileTooLarge(FileRejected):
    """An upload larger than the server's limit (MINT_FILES_MAX_BYTES)."""


class FileNotFound(CatalogError):
    """No file of that id among the tenant's own (another tenant's, deleted, or never
    made: all read the same)."""
