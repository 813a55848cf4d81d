class CommerceError(ValueError):
    """A request the business rules refuse; the message says what to do instead."""
