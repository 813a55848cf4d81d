"""The catalog's error, apart from the catalog, so callers that only catch it stay light."""


class CatalogError(ValueError):
    """A name, version or alias that does not exist or is not allowed."""
