"""Transcripts: what a request asked and what it answered, kept (when the request sets
``store: true``) so that feedback on the answer can become training data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from modelmint.config.clock import Clock, utc_now
from modelmint.store import Store
from modelmint.store.labeling_tables import Transcript

log = logging.getLogger("modelmint.labeling")


@dataclass(frozen=True)
class TranscriptRecord:
    request_id: str
    tenant_id: int
    model_version_id: int
    endpoint: str
    request: dict[str, Any]  # {"messages": [...]} or {"prompt": ...}, and "params"
    choices: list[str]
    created_at: datetime


def _record(row: Transcript) -> TranscriptRecord:
    return TranscriptRecord(
        row.request_id,
        row.tenant_id,
        row.model_version_id,
        row.endpoint,
        dict(row.request),
        list(row.choices),
        row.created_at,
    )


class Transcripts:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def write(
        self,
        request_id: str,
        *,
        tenant_id: int,
        api_key_id: int,
        model_version_id: int,
        endpoint: str,
        request: dict[str, Any],
        choices: list[str],
    ) -> None:
        with self.store.session() as s:
            s.add(
                Transcript(
                    request_id=request_id,
                    tenant_id=tenant_id,
                    api_key_id=api_key_id,
                    model_version_id=model_version_id,
                    endpoint=endpoint,
                    request=request,
                    choices=choices,
                    created_at=self.clock(),
                )
            )

    def get(self, request_id: str) -> TranscriptRecord | None:
        with self.store.session() as s:
            row = s.scalars(select(Transcript).where(Transcript.request_id == request_id)).first()
            return _record(row) if row else None

    def keeper(
        self,
        request_id: str,
        *,
        tenant_id: int,
        api_key_id: int,
        model_version_id: int,
        endpoint: str,
        request: dict[str, Any],
    ) -> Callable[[list[str]], None]:
        """A function the gateway calls with every choice's text once the request is billed.
        A transcript that cannot be written is logged, not raised: the answer is already
        paid for and must still reach the client."""

        def keep(choices: list[str]) -> None:
            try:
                self.write(
                    request_id,
                    tenant_id=tenant_id,
                    api_key_id=api_key_id,
                    model_version_id=model_version_id,
                    endpoint=endpoint,
                    request=request,
                    choices=choices,
                )
            except Exception:
                log.exception("could not store the transcript of %s", request_id)

        return keep
