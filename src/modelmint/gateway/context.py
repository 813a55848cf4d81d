"""What the routes are given: the models being served, the key check and the ledger.
Built once by ``create_app`` and injected, so tests can pass their own."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from modelmint.commerce import ApiKeys, KeyPrincipal, UsageLedger
from modelmint.gateway.errors import APIError, model_not_found
from modelmint.serving import Engine


@dataclass(frozen=True)
class ServedModel:
    """A model version as the API shows it: ``id`` is what clients put in ``model``."""

    id: str
    label: str  # name:version, always accepted too
    model_version_id: int
    engine: Engine
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class GatewayContext:
    keys: ApiKeys
    ledger: UsageLedger
    models: dict[str, ServedModel]

    def find_model(self, name: str) -> ServedModel:
        for m in self.models.values():
            if name in (m.id, m.label):
                return m
        raise model_not_found(name)

    def model_or_only(self, name: str | None) -> ServedModel:
        """``name``'s model; without a name, the one model served (the tokenizer routes make
        ``model`` optional, as vLLM does)."""
        if name is not None:
            return self.find_model(name)
        if len(self.models) == 1:
            return next(iter(self.models.values()))
        raise APIError(
            400,
            "Missing required parameter: 'model' (this server serves "
            f"{', '.join(sorted(self.models))}).",
            param="model",
            code="missing_required_parameter",
        )


def get_context(request: Request) -> GatewayContext:
    ctx: GatewayContext = request.app.state.context
    return ctx


async def require_key(request: Request, ctx: GatewayContext = Depends(get_context)) -> KeyPrincipal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise APIError(
            401,
            "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'; "
            "create one with `mint keys create --tenant NAME`.",
            code="invalid_api_key",
        )
    principal = await run_in_threadpool(ctx.keys.authenticate, key.strip())
    if principal is None:
        raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")
    return principal
