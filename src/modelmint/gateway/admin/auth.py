"""Who is calling ``/admin/v1``: ``Authorization: Bearer <admin key>``. A platform key
gets the platform scope, a channel's key that channel's scope; the scope (with the actor
the audit log names) is what every service call is given."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from modelmint.commerce.admin_keys import AdminPrincipal
from modelmint.commerce.scope import Scope
from modelmint.gateway.admin.services import AdminServices, get_services
from modelmint.gateway.errors import APIError

# Declared so the OpenAPI schema documents the bearer scheme; the check is ours (it
# answers in OpenAI's error shape, not FastAPI's).
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminKey",
    description="An admin key (`mma-…`) from `mint admin-keys create [--channel C]`.",
)


async def require_admin(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    services: AdminServices = Depends(get_services),
) -> AdminPrincipal:
    if credentials is None or not credentials.credentials.strip():
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
