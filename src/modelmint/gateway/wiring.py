"""The gateway is wired here, and only here. ``build_gateway`` makes each part the routes
use exactly once: the store, the clock, the key check, admission (limits, reservations and
billing), the ledger, feedback and transcripts, uploaded files, the admin services, the
console's sessions and the annotator page's services. ``create_app`` puts them on the app's
state and every route gets them through a FastAPI dependency.

So no route borrows another service's store or pepper, and nothing behind this module reads
the global settings: ``mint serve`` passes the settings and store it opened, a test passes
its own settings, store, clock, admission and engines, and both get the same app."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from modelmint.catalog import UploadedFiles
from modelmint.commerce.admission import Admission, SqlAdmission
from modelmint.commerce.pricing import PriceBooks
from modelmint.config import Settings
from modelmint.config.clock import Clock, utc_now
from modelmint.gateway.admin.auth import console_web_sessions
from modelmint.gateway.admin.services import AdminServices
from modelmint.gateway.context import Canary, GatewayContext, ServedModel
from modelmint.gateway.routes.annotate import LabelServices
from modelmint.gateway.web_session import WebSessions
from modelmint.labeling import Feedback
from modelmint.observability.serving_metrics import ServingMetrics
from modelmint.store import Store


@dataclass(frozen=True)
class GatewayParts:
    """Everything the app's routes are given, each built once by ``build_gateway``."""

    settings: Settings
    store: Store
    clock: Clock
    # the /v1 routes: models, key check, admission, ledger, feedback, files
    context: GatewayContext
    admin: AdminServices  # /admin/v1 and the console's data
    console_sessions: WebSessions  # the console's sign-in cookie
    labels: LabelServices  # the annotator page

    @property
    def admission(self) -> Admission:
        return self.context.admission


def build_admission(
    settings: Settings, store: Store, prices: PriceBooks, clock: Clock = utc_now
) -> Admission:
    """SQL admission (rate limits kept in this process) or, with MINT_REDIS_URL, Redis
    admission shared by every replica. A fresh instance id on every build, so a restarted
    server sweeps what its killed predecessor left."""

    timeout = settings.instance_timeout_s
    if settings.redis_url:
        import redis

        from modelmint.commerce.admission import RedisAdmission

        return RedisAdmission(
            redis.Redis.from_url(settings.redis_url),
            store,
            prices,
            clock,
            prefix=settings.redis_prefix,
            instance_timeout_s=timeout,
        )
    return SqlAdmission(store, prices, clock, instance_timeout_s=timeout)


def build_gateway(
    settings: Settings,
    *,
    models: dict[str, ServedModel],
    store: Store | None = None,
    clock: Clock = utc_now,
    admission: Admission | None = None,
    canaries: Sequence[Canary] = (),
    metrics: ServingMetrics | None = None,
    draw: random.Random | None = None,
) -> GatewayParts:
    """The gateway's parts for ``settings``: the store at the settings' database unless one
    is given, the settings' key pepper, artifacts dir and upload limit, admission as
    ``build_admission`` makes it unless one is given; ``draw`` splits canaries (seed it for
    a repeatable split)."""
    if store is None:
        store = Store.open(settings.resolved_database_url())
    pepper = settings.resolved_key_pepper()
    admin = AdminServices(
        store,
        pepper,
        settings.artifacts_dir,
        clock,
        hardware_cost_per_hour=settings.hardware_cost_per_hour,
    )
    if admission is None:
        admission = build_admission(settings, store, admin.prices, clock)
    feedback = Feedback(store, clock)
    context = GatewayContext(
        keys=admin.keys,
        ledger=admin.usage,
        models=models,
        admission=admission,
        feedback=feedback,
        transcripts=feedback.transcripts,
        files=UploadedFiles(
            store, settings.artifacts_dir, clock, max_bytes=settings.files_max_bytes
        ),
        canaries=list(canaries),
        metrics=ServingMetrics() if metrics is None else metrics,
        draw=random.Random() if draw is None else draw,
        inline_store_calls=store.is_sqlite and isinstance(admission, SqlAdmission),
    )
    return GatewayParts(
        settings=settings,
        store=store,
        clock=clock,
        context=context,
        admin=admin,
        console_sessions=console_web_sessions(admin),
        labels=LabelServices(store, pepper, admin.catalog, clock),
    )
