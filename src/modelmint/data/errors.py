"""Errors of the data stage."""

from modelmint.errors import UserError


class DataError(UserError, ValueError):
    """Input that cannot be ingested; the message names the file, the line and the fix."""
