"""What the /v1 routes are given: the models being served, the key check, admission
(limits, reservations and billing), the ledger, feedback, kept transcripts and uploaded
files. Built once by
``gateway.wiring.build_gateway`` and injected, so tests can pass their own parts."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from modelmint.catalog import UploadedFiles
from modelmint.commerce.accounts import ApiKeys, KeyPrincipal
from modelmint.commerce.admission import Admission
from modelmint.commerce.ledger import UsageLedger
from modelmint.gateway.errors import APIError, model_not_found
from modelmint.labeling import Feedback, Transcripts
from modelmint.observability.serving_metrics import ServingMetrics
from modelmint.serving import Embedder, TextEngine

T = TypeVar("T")


async def store_call(inline: bool, fn: Callable[..., T], *args: Any) -> T:
    """Runs one of the request path's blocking store calls (the key check, admission,
    settlement), on the event loop when ``inline``, else in the threadpool.

    Inline is for SQLite with admission kept in this process: its calls are in-process
    and take about a millisecond, its writes are serialized anyway, and a worker thread
    gains nothing from them but having to win the GIL back after every SQLite call, which
    under load means waiting on the busy loop thread each time (docs/benchmarks.md, the
    gateway's own cost). A network database or Redis is never called inline: a slow round
    trip would stall every stream. (`generation.prompt_work` decides the same way for
    rendering and tokenizing a prompt, by its length.)"""
    if inline:
        return fn(*args)
    return await run_in_threadpool(fn, *args)


@dataclass(frozen=True)
class ServedModel:
    """A model version as the API shows it: ``id`` is what clients put in ``model``; the
    label (name:version) and any ``aliases`` (name@alias) are accepted too. A generating
    model has an ``engine``; an encoder has an ``embedder``."""

    id: str
    label: str
    model_version_id: int
    engine: TextEngine | None = None
    embedder: Embedder | None = None
    aliases: tuple[str, ...] = ()
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def names(self) -> tuple[str, ...]:
        return (self.id, self.label, *self.aliases)

    @property
    def model_name(self) -> str:
        return self.label.rpartition(":")[0] or self.label

    @property
    def model_version(self) -> int:
        version = self.label.rpartition(":")[2]
        return int(version) if version.isdigit() else 0


@dataclass(frozen=True)
class Canary:
    """Sends ``fraction`` of the requests that name the primary model (by any of
    ``names``) to ``candidate`` instead."""

    names: tuple[str, ...]
    candidate: ServedModel
    fraction: float

    @property
    def primary_id(self) -> str:
        """The served name it splits: the id of the model its ``names`` are from."""
        return self.names[0] if self.names else ""


@dataclass
class GatewayContext:
    keys: ApiKeys
    ledger: UsageLedger  # reads; requests are billed through ``admission``
    models: dict[str, ServedModel]
    admission: Admission  # SQL (limits kept in this process) or Redis, as the settings say
    feedback: Feedback  # POST /v1/feedback
    transcripts: Transcripts  # what ``store: true`` keeps
    files: UploadedFiles  # the Files API's uploads
    canaries: list[Canary] = field(default_factory=list)
    metrics: ServingMetrics = field(default_factory=ServingMetrics)
    draw: random.Random = field(default_factory=random.Random)
    # SQLite with admission in this process: the request path's store calls run on the
    # event loop (`store_call`)
    inline_store_calls: bool = False
    # Versions loaded that answer no name now (an alias moved off them, a canary ended):
    # kept so a rollback or a new canary uses them at once, and closed at shutdown.
    standby: list[ServedModel] = field(default_factory=list)

    def find_model(self, name: str, principal: KeyPrincipal | None = None) -> ServedModel:
        """The model ``name`` stands for (a canary may answer instead). A model the key may
        not use is reported as not existing, as OpenAI does."""
        primary = next((m for m in self.models.values() if name in m.names), None)
        if primary is None or (principal is not None and not principal.may_use(primary.names)):
            raise model_not_found(name)
        for canary in self.canaries:
            if name in canary.names and self.draw.random() < canary.fraction:
                return canary.candidate
        return primary

    def visible_models(self, principal: KeyPrincipal) -> list[ServedModel]:
        return [m for m in self.models.values() if principal.may_use(m.names)]

    def all_models(self) -> list[ServedModel]:
        return [*self.models.values(), *(c.candidate for c in self.canaries), *self.standby]

    def loaded_versions(self) -> dict[int, ServedModel]:
        """Every model version this server has an engine (or embedder) for, by version id."""
        loaded: dict[int, ServedModel] = {}
        for m in self.all_models():
            loaded.setdefault(m.model_version_id, m)
        return loaded

    # Live changes (the console). Each swaps in new objects rather than changing the ones a
    # request may be reading: ``models`` keeps its keys (only values are replaced) and
    # ``canaries`` is replaced whole, so ``find_model`` never sees a half-made change.
    def point(self, served_id: str, target: ServedModel) -> bool:
        """Makes the served name ``served_id`` (e.g. ``demo@production``) answer with
        ``target``'s version from the next request on; False if no model is served by that
        id. A canary on that name keeps splitting it."""
        key = next((k for k, m in self.models.items() if m.id == served_id), None)
        if key is None:
            return False
        before, old = self.loaded_versions(), self.models[key]
        new = replace(
            old,
            label=target.label,
            model_version_id=target.model_version_id,
            engine=target.engine,
            embedder=target.embedder,
        )
        self.models[key] = new
        self.canaries = [
            replace(c, names=new.names) if c.primary_id == old.id else c for c in self.canaries
        ]
        self._park(before)
        return True

    def canary_on(self, served_id: str) -> Canary | None:
        """The canary splitting the served name ``served_id``, if one does."""
        return next((c for c in self.canaries if c.primary_id == served_id), None)

    def set_canaries(self, canaries: list[Canary]) -> None:
        before = self.loaded_versions()
        self.canaries = canaries
        self._park(before)

    def _park(self, before: dict[int, ServedModel]) -> None:
        in_use = {m.model_version_id for m in self.models.values()}
        in_use |= {c.candidate.model_version_id for c in self.canaries}
        self.standby = [m for vid, m in before.items() if vid not in in_use]

    def generating_model(
        self, name: str, principal: KeyPrincipal | None = None
    ) -> tuple[ServedModel, TextEngine]:
        served = self.find_model(name, principal)
        if served.engine is None:
            raise APIError(
                400,
                f"The model `{name}` is an encoder: it serves /v1/embeddings, not generation.",
                param="model",
                code="model_not_supported",
            )
        return served, served.engine

    def model_or_only(
        self, name: str | None, principal: KeyPrincipal
    ) -> tuple[ServedModel, TextEngine]:
        """``name``'s generating model; without a name, the one generating model the key may
        use (the tokenizer routes make ``model`` optional, as vLLM does)."""
        if name is not None:
            return self.generating_model(name, principal)
        usable = [(m, m.engine) for m in self.visible_models(principal) if m.engine is not None]
        if len(usable) == 1:
            return usable[0]
        raise APIError(
            400,
            "Missing required parameter: 'model' (this key may use "
            f"{', '.join(sorted(m.id for m, _ in usable)) or 'no generating model'}).",
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
    principal = await store_call(ctx.inline_store_calls, ctx.keys.authenticate, key.strip())
    if principal is None:
        raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")
    return principal
