"""A bound on every request body, checked before any of it is parsed: a body larger than
``MAX_BODY_BYTES`` is answered 413 in OpenAI's shape, whether it declares its length or
streams in chunks. The largest honest request (2,048 embedding inputs, or a prompt that
fills a long context) stays well under it.

An upload to the Files API may be larger: up to the upload limit (MINT_FILES_MAX_BYTES), with
room for the form's other fields and its part headers. The file itself is measured exactly
as it is kept (``catalog.UploadedFiles``); this bound only stops a body far past it before
it is read."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelmint.catalog import too_large_message
from modelmint.gateway.errors import error_body

MAX_BODY_BYTES = 8 << 20
UPLOAD_PATHS = frozenset({"/v1/files"})
# an upload's form beside its file: the purpose, the part headers, the boundaries
FORM_ALLOWANCE = 1 << 20


def _too_large(limit: int) -> str:
    return (
        f"The request body is larger than the {limit >> 20} MiB this server accepts. Send "
        "fewer or shorter inputs per request."
    )


class BodyLimit:
    """ASGI middleware: refuses a body past ``max_bytes`` (413, code ``request_too_large``);
    an upload's past ``upload_max_bytes`` and its form's allowance, when that is given."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, upload_max_bytes: int | None = None
    ) -> None:
        self.app, self.max_bytes, self.upload_max_bytes = app, max_bytes, upload_max_bytes

    def _limit(self, scope: Scope) -> tuple[int, str]:
        """The most this request's body may hold, and what to say past it."""
        upload = scope.get("method") == "POST" and scope.get("path") in UPLOAD_PATHS
        if upload and self.upload_max_bytes is not None:
            limit = self.upload_max_bytes
            return limit + FORM_ALLOWANCE, too_large_message(limit)
        return self.max_bytes, _too_large(self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes, message = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > max_bytes:
            body = error_body(413, message, code="request_too_large")
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message_in = await receive()
            if message_in["type"] == "http.request":
                seen += len(message_in.get("body", b""))
                if seen > max_bytes:
                    # an HTTPException passes through FastAPI's body reading to the app's
                    # error handlers, which give it OpenAI's shape
                    raise HTTPException(413, message)
            return message_in

        await self.app(scope, bounded, send)
