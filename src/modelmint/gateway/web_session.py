"""Browser sessions for our web pages (the annotator page; the console's sign-in too).

A session is a signed cookie: ``base64url(json) "." base64url(hmac)``, keyed by a key
derived from the server's pepper and the session's name, so a cookie of one page (or an
API-key hash) is no use anywhere else. The cookie says who (``subject``), since when and
until when, carries a random session id and the CSRF token it was issued with. It is
HttpOnly, SameSite=Strict, scoped to the page's path and Secure when the request came over
https.

Signing out revokes the session on the server, not only in the browser: its id is stored
(``RevokedWebSession``, until it would have expired) and a copy of the cookie is refused
from then on, on every gateway process sharing the database. Signing in again revokes the
session the browser had before.

Every state-changing request must send that CSRF token back in ``X-CSRF-Token`` (the page
reads it from a second, readable cookie: double submit, bound to the signed session). A
request without a session (signing in) must echo the readable cookie instead. The caller
still checks on every request that the subject is allowed (e.g. not revoked): the cookie
says who signed in, not that they still may."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modelmint.commerce.accounts import same_secret
from modelmint.config.clock import Clock, utc_now
from modelmint.gateway.errors import APIError
from modelmint.store import RevokedWebSession, Store

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class WebSession:
    subject: str
    issued_at: int  # unix seconds
    expires_at: int
    csrf: str
    id: str  # random; what signing out revokes


class SessionRevocations:
    """The sessions signed out before they expired, in the database (so every gateway
    process refuses them); a row is kept until its session would have expired."""

    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def revoke(self, page: str, session: WebSession) -> None:
        now = self.clock()
        try:
            with self.store.session() as s:
                # expired sessions are refused anyway: their rows are no longer needed
                s.execute(delete(RevokedWebSession).where(RevokedWebSession.expires_at <= now))
                if self._found(s, session.id):
                    return
                s.add(
                    RevokedWebSession(
                        session_id=session.id,
                        page=page,
                        expires_at=datetime.fromtimestamp(session.expires_at, UTC),
                        revoked_at=now,
                    )
                )
        except IntegrityError:  # signed out twice at once: it is revoked either way
            pass

    @staticmethod
    def _found(s: Session, session_id: str) -> bool:
        q = select(RevokedWebSession.id).where(RevokedWebSession.session_id == session_id)
        return s.scalar(q) is not None

    def is_revoked(self, session_id: str) -> bool:
        with self.store.session() as s:
            return self._found(s, session_id)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class WebSessions:
    """Issues and checks the session cookie ``<name>_session`` and the CSRF cookie
    ``<name>_csrf`` on ``path``."""

    def __init__(
        self,
        pepper: bytes,
        *,
        name: str,
        path: str,
        revocations: SessionRevocations,
        max_age: timedelta = timedelta(hours=12),
        clock: Clock = utc_now,
    ) -> None:
        self.name = name
        self.revocations = revocations
        self.path = path
        self.max_age = max_age
        self.clock = clock
        self.session_cookie = f"{name}_session"
        self.csrf_cookie = f"{name}_csrf"
        self._key = hmac.new(pepper, f"modelmint web session {name}".encode(), "sha256").digest()

    # -- the cookie ------------------------------------------------------------------------
    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def encode(self, session: WebSession) -> str:
        payload = {
            "sub": session.subject,
            "iat": session.issued_at,
            "exp": session.expires_at,
            "csrf": session.csrf,
            "sid": session.id,
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def decode(self, value: str) -> WebSession | None:
        """The session a cookie holds; None if it was not signed here, is malformed or has
        expired. (Whether it was revoked is for ``current`` to ask.)"""
        body, _, mac = value.partition(".")
        if not body or not mac or not same_secret(mac, self._mac(body)):
            return None
        try:
            data = json.loads(_unb64(body))
            session = WebSession(
                str(data["sub"]),
                int(data["iat"]),
                int(data["exp"]),
                str(data["csrf"]),
                str(data["sid"]),  # a cookie from before sessions could be revoked: no id
            )
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires_at <= self._now():
            return None
        return session

    def _now(self) -> int:
        return int(self.clock().timestamp())

    # -- requests and responses ------------------------------------------------------------
    def _cookie(self, request: Request) -> WebSession | None:
        value = request.cookies.get(self.session_cookie)
        return self.decode(value) if value else None

    async def current(self, request: Request) -> WebSession | None:
        """The request's live session: signed here, not expired, not signed out."""
        session = self._cookie(request)
        if session is None:
            return None
        if await run_in_threadpool(self.revocations.is_revoked, session.id):
            return None
        return session

    def _set(
        self, request: Request, response: Response, key: str, value: str, *, http_only: bool
    ) -> None:
        response.set_cookie(
            key,
            value,
            max_age=int(self.max_age.total_seconds()),
            path=self.path,
            secure=request.url.scheme == "https",
            httponly=http_only,
            samesite="strict",
        )

    async def start(self, request: Request, response: Response, subject: str) -> WebSession:
        """Signs ``subject`` in: a new session with a new CSRF token (a token seen before
        signing in is not reused); the session the browser had before is revoked."""
        await self._revoke(request)
        now = self._now()
        session = WebSession(
            subject,
            now,
            now + int(self.max_age.total_seconds()),
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
        )
        self._set(request, response, self.session_cookie, self.encode(session), http_only=True)
        self._set(request, response, self.csrf_cookie, session.csrf, http_only=False)
        return session

    async def _revoke(self, request: Request) -> None:
        session = self._cookie(request)
        if session is not None:
            await run_in_threadpool(self.revocations.revoke, self.name, session)

    async def end(self, request: Request, response: Response) -> None:
        """Signs out: the session is revoked on the server (a copy of the cookie is refused
        from now on) and the browser's cookies are cleared."""
        await self._revoke(request)
        secure = request.url.scheme == "https"
        for key, http_only in ((self.session_cookie, True), (self.csrf_cookie, False)):
            response.delete_cookie(
                key, path=self.path, secure=secure, httponly=http_only, samesite="strict"
            )

    def ensure_csrf_cookie(self, request: Request, response: Response) -> str:
        """A readable CSRF cookie for a page without a session (its sign-in form)."""
        token = request.cookies.get(self.csrf_cookie) or secrets.token_urlsafe(24)
        self._set(request, response, self.csrf_cookie, token, http_only=False)
        return token

    def check_csrf(self, request: Request, session: WebSession | None) -> None:
        """Refuses (403) a state-changing request whose ``X-CSRF-Token`` is missing or is not
        the session's token (without a session: not the CSRF cookie's)."""
        if request.method in SAFE_METHODS:
            return
        sent = request.headers.get(CSRF_HEADER, "")
        expected = (
            session.csrf if session is not None else request.cookies.get(self.csrf_cookie, "")
        )
        if not sent:
            raise APIError(
                403,
                f"Missing the {CSRF_HEADER} header: send the value of the {self.csrf_cookie} "
                "cookie with every request that changes something (reload the page to get one).",
                code="csrf_token_missing",
            )
        if not expected or not same_secret(sent, expected):
            raise APIError(
                403,
                f"The {CSRF_HEADER} header does not match this session's token; reload the "
                "page and try again.",
                code="csrf_token_mismatch",
            )


# Security headers of the page: scripts and styles only from our own files, no framing
# (a page in someone else's frame could be fed keystrokes and clicks).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def accept_language(header: str, languages: Sequence[str]) -> str:
    """The browser's most wanted (by q) of ``languages``, else English."""
    best, best_q = "en", -1.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        lang = tag.strip().lower().split("-")[0]
        if lang in languages and q > best_q:
            best, best_q = lang, q
    return best
