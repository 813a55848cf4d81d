"""The FastAPI app: OpenAI-compatible routes in front of serving engines, the admin API,
the console and the annotator page, all given the parts ``build_gateway`` made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import modelmint
from modelmint.gateway.admin import ROUTERS as ADMIN_ROUTERS
from modelmint.gateway.body_limit import BodyLimit
from modelmint.gateway.errors import install_error_handlers
from modelmint.gateway.routes import (
    annotate,
    chat,
    completions,
    console,
    embeddings,
    feedback,
    files,
    health,
    metrics,
    models,
    tokenization,
)
from modelmint.gateway.wiring import GatewayParts


def create_app(parts: GatewayParts) -> FastAPI:
    """The app over ``parts``: each is put on the app's state once, where the routes'
    dependencies (``get_context``, ``get_services``, ``console_sessions``,
    ``get_label_services``) find it."""
    context = parts.context

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for m in {id(m): m for m in context.all_models()}.values():
            if m.engine is not None:
                m.engine.close()

    app = FastAPI(title="modelmint", version=modelmint.__version__, lifespan=lifespan)
    app.state.context = context
    app.state.admin_services = parts.admin
    app.state.console_sessions = parts.console_sessions
    app.state.label_services = parts.labels
    install_error_handlers(app)
    app.add_middleware(BodyLimit, upload_max_bytes=context.files.max_bytes)
    routers = (
        models,
        completions,
        chat,
        embeddings,
        files,
        feedback,
        tokenization,
        health,
        metrics,
    )
    for r in (*(m.router for m in routers), *ADMIN_ROUTERS):
        app.include_router(r)
    # the annotators' labeling page: its routes and its vendored files
    app.include_router(annotate.router)
    app.mount("/label/static", StaticFiles(directory=annotate.STATIC_DIR), name="label-static")
    # the console: sign-in and its single-page app's files; data from /admin/v1
    app.include_router(console.router)
    app.mount("/console/static", StaticFiles(directory=console.STATIC_DIR), name="console-static")
    app.mount("/static/common", StaticFiles(packages=[("modelmint.gateway", "static/common")]))
    return app
