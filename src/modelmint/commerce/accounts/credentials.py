"""What every key and token shares: ``<start><prefix>-<secret>`` (API keys ``mm-``, admin
keys ``mma-``, annotators' sign-in tokens ``mml-``). The prefix finds the row; the secret is
stored only as an HMAC-SHA256 under the server's pepper and checked in constant time. The
distinct starts keep one kind from being taken for another: each kind's split fails on the
others."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from modelmint.commerce.errors import CommerceError

PREFIX_LEN = 12


def _utf8(text: str) -> bytes:
    # surrogatepass: a lone surrogate (JSON allows "\ud800") is bytes like any other,
    # never a UnicodeEncodeError; every other string encodes exactly as plain UTF-8
    return text.encode("utf-8", "surrogatepass")


def hash_secret(pepper: bytes, secret: str) -> str:
    """What is stored of a key's secret (every kind alike): HMAC-SHA256 under the server's
    pepper, so the database alone cannot be used to check guessed keys."""
    return hmac.new(pepper, _utf8(secret), hashlib.sha256).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality of two secrets (hashes, signatures, tokens) as UTF-8 bytes:
    ``hmac.compare_digest`` raises TypeError on a str with a non-ASCII character, which
    a caller can send, and that must be a wrong secret, not a server error."""
    return hmac.compare_digest(_utf8(given), _utf8(expected))


def new_key(start: str) -> tuple[str, str, str]:
    """A fresh key of the kind that begins with ``start``: the whole key (shown once, never
    stored), its prefix and its secret (stored only as ``hash_secret`` of it)."""
    prefix, secret = secrets.token_hex(PREFIX_LEN // 2), secrets.token_urlsafe(32)
    return f"{start}{prefix}-{secret}", prefix, secret


def split_key(key: str, start: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed key of the kind that begins with ``start``,
    else None."""
    if not key.startswith(start):
        return None
    body = key[len(start) :]
    if len(body) < PREFIX_LEN + 2 or body[PREFIX_LEN] != "-":
        return None
    return body[:PREFIX_LEN], body[PREFIX_LEN + 1 :]


def check_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    """A key's expiry as given: none, or a future time with a time zone."""
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise CommerceError("expires_at needs a time zone (e.g. 2026-12-31T00:00:00+00:00)")
        if expires_at <= now:
            raise CommerceError(f"expires_at {expires_at.isoformat()} is not in the future")
    return expires_at
