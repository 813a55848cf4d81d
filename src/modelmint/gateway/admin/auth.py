"""Who is calling ``/admin/v1``: ``Authorization: Bearer <admin key>``, or the console's
signed session cookie. A platform key gets the platform scope, a channel's key that
channel's scope; the scope (with the actor the audit log names) is what every service call
is given.

The console session (``mint_console_session``, Path=/, HttpOnly, SameSite=Strict) names
its admin key by prefix only; the key is looked up on every request, so a revoked or
expired key ends the session at the next request, and so does signing out (the session
is revoked on the server: see ``gateway.web_session``). A request authorized by the cookie must
send the session's CSRF token in ``X-CSRF-Token`` unless it is a GET (a Bearer request
needs none: another site cannot make a browser send that header)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from modelmint.commerce import Scope
from modelmint.commerce.accounts import AdminPrincipal
from modelmint.gateway.admin.services import AdminServices, get_services
from modelmint.gateway.errors import APIError
from modelmint.gateway.web_session import SessionRevocations, WebSessions

CONSOLE_SESSION = "mint_console"  # cookies mint_console_session and mint_console_csrf
CONSOLE_SESSION_HOURS = 12

# Declared so the OpenAPI schema documents the bearer scheme; the check is ours (it
# answers in OpenAI's error shape, not FastAPI's).
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminKey",
    description="An admin key (`mma-…`) from `mint admin-keys create [--as-channel C]`.",
)


def console_web_sessions(services: AdminServices) -> WebSessions:
    """The console's session cookies, keyed by the admin services' pepper and clock (built
    once per app by ``gateway.wiring.build_gateway``)."""
    return WebSessions(
        services.pepper,
        name=CONSOLE_SESSION,
        path="/",
        revocations=SessionRevocations(services.store, services.clock),
        max_age=timedelta(hours=CONSOLE_SESSION_HOURS),
        clock=services.clock,
    )


def console_sessions(request: Request) -> WebSessions:
    """The app's console sessions (``app.state.console_sessions``, set by ``create_app``)."""
    sessions: WebSessions = request.app.state.console_sessions
    return sessions


async def console_principal(request: Request, services: AdminServices) -> AdminPrincipal | None:
    """The caller of a console session cookie (None without one); 401 when its admin key
    was revoked or expired, 403 for a change without the session's CSRF token."""
    sessions = console_sessions(request)
    session = await sessions.current(request)
    if session is None:
        return None
    principal = await run_in_threadpool(services.admin_keys.principal_for, session.subject)
    if principal is None:
        raise APIError(
            401,
            "Your console session ended: the admin key it was signed in with was revoked or "
            "has expired. Sign in again with a valid admin key.",
            code="session_ended",
        )
    sessions.check_csrf(request, session)
    return principal


async def require_admin(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    services: AdminServices = Depends(get_services),
) -> AdminPrincipal:
    if credentials is None or not credentials.credentials.strip():
        from_cookie = await console_principal(request, services)
        if from_cookie is not None:
            return from_cookie
        raise APIError(
            401,
            "You didn't provide an admin key. Send it as 'Authorization: Bearer ADMIN_KEY'; "
            "create one with `mint admin-keys create`.",
            code="invalid_api_key",
        )
    principal = await run_in_threadpool(
        services.admin_keys.authenticate, credentials.credentials.strip()
    )
    if principal is None:
        raise APIError(
            401,
            "Incorrect admin key provided (wrong, revoked or expired). An API key (mm-…) "
            "does not work here: use an admin key (mma-…).",
            code="invalid_api_key",
        )
    return principal


async def admin_scope(principal: AdminPrincipal = Depends(require_admin)) -> Scope:
    return principal.scope
