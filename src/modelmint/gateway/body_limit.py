"""A bound on every request body, checked before any of it is parsed: a body larger than
``MAX_BODY_BYTES`` is answered 413 in OpenAI's shape, whether it declares its length or
streams in chunks. The largest honest request (2,048 embedding inputs, or a prompt that
fills a long context) stays well under it."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelmint.gateway.errors import error_body

MAX_BODY_BYTES = 8 << 20


def _too_large(limit: int) -> str:
    return (
        f"The request body is larger than the {limit >> 20} MiB this server accepts. Send "
        "fewer or shorter inputs per request."
    )


class BodyLimit:
    """ASGI middleware: refuses a body past ``max_bytes`` (413, code ``request_too_large``)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            body = error_body(413, _too_large(self.max_bytes), code="request_too_large")
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # an HTTPException passes through FastAPI's body reading to the app's
                    # error handlers, which give it OpenAI's shape
                    raise HTTPException(413, _too_large(self.max_bytes))
            return message

        await self.app(scope, bounded, send)
