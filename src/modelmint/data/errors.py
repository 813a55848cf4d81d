"""Errors of the data stage."""


class DataError(ValueError):
    """Input that cannot be ingested; the message names the file, the line and the fix."""
