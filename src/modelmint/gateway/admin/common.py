"""What every admin router shares: the error responses it documents, and ``call``, which
runs a (blocking) service method off the event loop and turns the business errors into the
API's error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError

from modelmint.commerce import CommerceError, NotFound, Scope
from modelmint.gateway.errors import APIError

T = TypeVar("T")


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error shape, used by every admin route."""

    error: ErrorDetail


def error_doc(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


# Documented on every admin router, so the OpenAPI schema names each status it can return.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc("Invalid request: the message says what is wrong and what to do."),
    401: error_doc("Missing or invalid admin key (or the console session's key was revoked)."),
    403: error_doc("Console session only: the X-CSRF-Token header is missing or wrong."),
    404: error_doc("Not found, or not visible to this admin key (the same answer)."),
}


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the thread pool (the services use blocking sessions);
    NotFound -> 404, any other CommerceError -> 400."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except NotFound as e:
        raise APIError(404, str(e), code="not_found") from None
    except CommerceError as e:
        raise APIError(400, str(e), code="invalid_request") from None
    except IntegrityError:
        # two admins creating the same name at once: the loser sees what a check would say
        raise APIError(
            400,
            "That record already exists (it was just created by another request).",
            code="conflict",
        ) from None
    except DataError:
        # a value the database cannot store (the request models bound what they can)
        raise APIError(
            400, "A value in the request is out of range.", code="invalid_value"
        ) from None


def require_platform(scope: Scope, what: str) -> None:
    """Platform-only operations answer a channel key as if they did not exist."""
    if not scope.is_platform:
        raise APIError(404, f"no {what}", code="not_found")
