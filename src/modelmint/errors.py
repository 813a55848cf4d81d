"""The one kind of error a user can fix, below every package so that each can raise it.

Each package's own errors (``CatalogError``, ``CommerceError``, ``DataError``,
``RecipeError``...) subclass :class:`UserError`. The command line prints such an error's
message alone and exits with code 1; anything else is a bug and keeps its traceback, so a
bug is never mistaken for a mistake the user made."""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix: the input, file, name or setting that is wrong, and what
    to do about it. Its message is shown as it is, without a traceback, so it says what to
    do; raise anything else for a bug."""
