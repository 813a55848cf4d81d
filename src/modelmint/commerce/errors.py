from modelmint.errors import UserError


class CommerceError(UserError, ValueError):
    """A request the business rules refuse; the message says what to do instead."""


class NotFound(CommerceError):
    """The record does not exist, or the caller's scope may not see it (the same answer)."""
