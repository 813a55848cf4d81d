"""The console: ``GET /console`` (the single-page app's shell; it shows a sign-in form
without a session), ``POST /console/session`` (admin key -> session cookie), ``POST
/console/session/logout`` and ``GET /console/api/me``. The pages read and change
everything through ``/admin/v1``, which accepts the session cookie as well as the Bearer
admin key (``gateway/admin/auth.py``); their files are served from ``/console/static``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from modelmint.commerce.accounts import AdminPrincipal
from modelmint.gateway.admin.auth import console_sessions, require_admin
from modelmint.gateway.admin.common import error_doc
from modelmint.gateway.admin.services import AdminServices, get_services
from modelmint.gateway.errors import APIError
from modelmint.gateway.web_session import PAGE_HEADERS, WebSessions, accept_language

STATIC_DIR = Path(str(files("modelmint.gateway").joinpath("static", "console")))
PAGE_PATH = "/console"
LANGUAGE_COOKIE = "mint_console_lang"  # set by the page's language toggle (en or zh)
LANGUAGES = ("en", "zh")


router = APIRouter(
    tags=["console"],
    responses={
        401: error_doc("Wrong, revoked or expired admin key, or no session."),
        403: error_doc("The X-CSRF-Token header is missing or is not this session's token."),
    },
)


class SignInRequest(BaseModel):
    key: str = Field(min_length=1, max_length=200, description="An admin key (mma-…)")


class ScopeOut(BaseModel):
    kind: Literal["platform", "channel"]
    channel: str | None = Field(description="The channel a channel's admin key manages")


class ConsoleMe(BaseModel):
    scope: ScopeOut
    actor: str = Field(description="How the audit log names this admin key")
    key_prefix: str
    language: str = Field(description="en or zh")


def _language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return accept_language(request.headers.get("accept-language", ""), LANGUAGES)


def _me(principal: AdminPrincipal, request: Request) -> ConsoleMe:
    kind: Literal["platform", "channel"] = "platform" if principal.channel_id is None else "channel"
    return ConsoleMe(
        scope=ScopeOut(kind=kind, channel=principal.channel),
        actor=principal.scope.actor,
        key_prefix=principal.prefix,
        language=_language(request),
    )


@router.get(PAGE_PATH, response_class=HTMLResponse, include_in_schema=False)
async def page(
    request: Request,
    services: AdminServices = Depends(get_services),
    sessions: WebSessions = Depends(console_sessions),
) -> Response:
    session = await sessions.current(request)
    signed = False
    if session is not None:
        principal = await run_in_threadpool(services.admin_keys.principal_for, session.subject)
        signed = principal is not None
    language = _language(request)
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    html = html.replace("__LANG__", language).replace("__SIGNED_IN__", str(signed).lower())
    response = HTMLResponse(html, headers=PAGE_HEADERS)
    if not signed:
        sessions.ensure_csrf_cookie(request, response)  # the sign-in form's token
    return response


@router.post(f"{PAGE_PATH}/session", response_model=ConsoleMe, summary="Sign in to the console")
async def sign_in(
    req: SignInRequest,
    request: Request,
    response: Response,
    services: AdminServices = Depends(get_services),
    sessions: WebSessions = Depends(console_sessions),
) -> ConsoleMe:
    sessions.check_csrf(request, None)  # the sign-in form's own token (no login CSRF)
    principal = await run_in_threadpool(services.admin_keys.authenticate, req.key.strip())
    if principal is None:
        raise APIError(
            401,
            "Incorrect admin key (wrong, revoked or expired). The console takes an admin key "
            "(mma-…) from `mint admin-keys create [--as-channel C]`, not an API key.",
            param="key",
            code="invalid_api_key",
        )
    await sessions.start(request, response, principal.prefix)  # the prefix, never the key
    return _me(principal, request)


@router.post(f"{PAGE_PATH}/session/logout", status_code=204, summary="Sign out of the console")
async def sign_out(request: Request, sessions: WebSessions = Depends(console_sessions)) -> Response:
    # the CSRF token too (else any site could sign you out), but no live key: a session
    # whose key was revoked can still sign out
    sessions.check_csrf(request, await sessions.current(request))
    response = Response(status_code=204)
    await sessions.end(request, response)  # revoked on the server, not only forgotten
    return response


@router.get(f"{PAGE_PATH}/api/me", response_model=ConsoleMe, summary="Who the console is")
async def me(request: Request, principal: AdminPrincipal = Depends(require_admin)) -> ConsoleMe:
    return _me(principal, request)
