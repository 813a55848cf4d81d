"""Feedback from API users on answers, the review queue, and its export as training data.

Only the tenant that made a request may give feedback on it: ``record`` looks the request
up in the usage events (a request never billed does not exist) and answers ``NotFound``
for another tenant's request id, exactly as for an unknown one, so ids reveal nothing.

Export writes two catalog dataset versions from the feedback on one model:
- ``<name>-sft``: chat records (``messages``) ending with the corrected answer, or with the
  original answer when it was rated 4 or 5 and carries no correction;
- ``<name>-preference``: for each corrected answer, ``prompt`` (the conversation, also in
  ``messages``), ``chosen`` (the correction) and ``rejected`` (the original answer).
Only ``accepted`` feedback is exported, unless ``include_unreviewed`` also takes ``new``;
``rejected`` never is. Feedback on a request without a transcript (it did not set
``store: true``) has nothing to train on and is skipped (counted in the result). A
completions prompt becomes a single user turn."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.catalog import DOCUMENT_SCHEMA, Catalog, DatasetRef
from modelmint.config.clock import Clock, utc_now
from modelmint.errors import UserError
from modelmint.labeling.transcripts import TranscriptRecord, Transcripts
from modelmint.store import Store
from modelmint.store.catalog_tables import ModelVersion
from modelmint.store.commerce_tables import UsageEvent
from modelmint.store.labeling_tables import Feedback as FeedbackRow
from modelmint.store.labeling_tables import Transcript

STATUSES = ("new", "accepted", "rejected")
MAX_TAGS = 20
PREFERENCE_SCHEMA = (
    DOCUMENT_SCHEMA.append(pa.field("prompt", pa.string()))
    .append(pa.field("chosen", pa.string()))
    .append(pa.field("rejected", pa.string()))
)
_CJK = re.compile(r"[\u3400-\u9fff]")


class FeedbackError(UserError, ValueError):
    """Feedback that cannot be recorded, reviewed or exported as asked."""


class NotFound(FeedbackError):
    """No such request (or feedback) for this tenant."""


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    request_id: str
    choice: int
    tenant_id: int
    model_version_id: int
    model: str  # name:version of the model version that answered
    rating: int | None
    corrected: str | None
    tags: list[str]
    comment: str
    status: str
    reviewer: str | None
    created_at: datetime
    reviewed_at: datetime | None


@dataclass
class FeedbackExport:
    sft: DatasetRef | None
    preference: DatasetRef | None
    sft_rows: int = 0
    preference_rows: int = 0
    skipped_no_transcript: list[int] = field(default_factory=list)


def _record(row: FeedbackRow, mv: ModelVersion) -> FeedbackRecord:
    return FeedbackRecord(
        row.id,
        row.request_id,
        row.choice,
        row.tenant_id,
        row.model_version_id,
        f"{mv.name}:{mv.version}",
        row.rating,
        row.corrected,
        list(row.tags or []),
        row.comment,
        row.status,
        row.reviewer,
        row.created_at,
        row.reviewed_at,
    )


def _check(rating: int | None, corrected: str | None, tags: list[str], choice: int) -> None:
    if rating is None and not (corrected or "").strip():
        raise FeedbackError("give a rating (1-5), a corrected answer, or both")
    if rating is not None and not 1 <= rating <= 5:
        raise FeedbackError(f"rating must be 1 to 5, not {rating}")
    if choice < 0:
        raise FeedbackError(f"choice must be 0 or more, not {choice}")
    if len(tags) > MAX_TAGS:
        raise FeedbackError(f"at most {MAX_TAGS} tags, not {len(tags)}")


Records = list[FeedbackRecord]  # ``Feedback.list`` hides the builtin inside the class


class Feedback:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock
        self.transcripts = Transcripts(store, clock)

    # giving feedback ---------------------------------------------------------------------
    def record(
        self,
        request_id: str,
        *,
        tenant_id: int,
        api_key_id: int,
        choice: int = 0,
        rating: int | None = None,
        corrected: str | None = None,
        tags: list[str] | None = None,
        comment: str = "",
    ) -> tuple[FeedbackRecord, bool]:
        """Stores feedback on one choice of a request of ``tenant_id``'s; returns (record,
        created). Feedback again on the same request and choice replaces it and puts it
        back in the review queue (``new``): what was reviewed is no longer what is there."""
        tags = list(tags or [])
        _check(rating, corrected, tags, choice)
        with self.store.write_session() as s:
            event = s.scalars(select(UsageEvent).where(UsageEvent.request_id == request_id)).first()
            if event is None or event.tenant_id != tenant_id:
                raise NotFound(f"no request {request_id!r} for this API key's tenant")
            kept = s.scalars(select(Transcript).where(Transcript.request_id == request_id)).first()
            if kept is not None and choice >= len(kept.choices):
                raise FeedbackError(
                    f"request {request_id} has {len(kept.choices)} choice(s): choice "
                    f"must be 0 to {len(kept.choices) - 1}, not {choice}"
                )
            row = s.scalars(
                select(FeedbackRow).where(
                    FeedbackRow.request_id == request_id, FeedbackRow.choice == choice
                )
            ).first()
            created = row is None
            if row is None:
                row = FeedbackRow(
                    request_id=request_id,
                    choice=choice,
                    tenant_id=tenant_id,
                    model_version_id=event.model_version_id,
                    created_at=self.clock(),
                )
                s.add(row)
            row.api_key_id = api_key_id
            row.rating = rating
            row.corrected = corrected if (corrected or "").strip() else None
            row.tags = tags
            row.comment = comment
            row.status, row.reviewer, row.reviewed_at = "new", None, None
            s.flush()
            return _record(row, s.get_one(ModelVersion, row.model_version_id)), created

    # the review queue --------------------------------------------------------------------
    def list(
        self, status: str | None = None, model: str | None = None, limit: int = 1000
    ) -> Records:
        """Oldest first. ``model``: a model name (every version) or ``name:version``."""
        if status is not None and status not in STATUSES:
            raise FeedbackError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        with self.store.session() as s:
            rows = _rows(s, [status] if status else [], model, limit)
            return [_record(f, mv) for f, mv in rows]

    def get(self, feedback_id: int) -> FeedbackRecord:
        with self.store.session() as s:
            row = s.get(FeedbackRow, feedback_id)
            if row is None:
                raise NotFound(f"no feedback {feedback_id}; see `mint feedback list`")
            return _record(row, s.get_one(ModelVersion, row.model_version_id))

    def review(self, feedback_id: int, decision: str, reviewer: str) -> FeedbackRecord:
        """``accept`` (it may become training data) or ``reject`` (it never will)."""
        status = {"accept": "accepted", "reject": "rejected"}.get(decision)
        if status is None:
            raise FeedbackError(f"decision must be accept or reject, not {decision!r}")
        with self.store.session() as s:
            row = s.get(FeedbackRow, feedback_id)
            if row is None:
                raise NotFound(f"no feedback {feedback_id}; see `mint feedback list`")
            row.status, row.reviewer, row.reviewed_at = status, reviewer, self.clock()
            s.flush()
            return _record(row, s.get_one(ModelVersion, row.model_version_id))

    # export ------------------------------------------------------------------------------
    def export(
        self,
        catalog: Catalog,
        model: str,
        name: str | None = None,
        include_unreviewed: bool = False,
    ) -> FeedbackExport:
        """Writes ``<name>-sft`` and ``<name>-preference`` (``name`` defaults to
        ``<model name>-feedback``); a kind with no rows is not written (None)."""
        statuses = ["accepted", "new"] if include_unreviewed else ["accepted"]
        with self.store.session() as s:
            rows = [(_record(f, mv)) for f, mv in _rows(s, statuses, model)]
        if not rows:
            which = "accepted or new" if include_unreviewed else "accepted"
            raise FeedbackError(
                f"no {which} feedback on {model}; review it with `mint feedback review ID "
                "--accept`, or pass --include-unreviewed"
            )
        base = name or f"{model.partition(':')[0]}-feedback"
        result = FeedbackExport(None, None)
        sft: list[dict[str, Any]] = []
        pref: list[dict[str, Any]] = []
        for fb in rows:
            t = self.transcripts.get(fb.request_id)
            if t is None or fb.choice >= len(t.choices):
                result.skipped_no_transcript.append(fb.id)
                continue
            prompt = _prompt_messages(t, fb.choice)
            original = t.choices[fb.choice]
            answer = fb.corrected if fb.corrected is not None else original
            if fb.corrected is not None or (fb.rating or 0) >= 4:
                sft.append(_document(fb, [*prompt, {"role": "assistant", "content": answer}]))
            if fb.corrected is not None and fb.corrected != original:
                row = _document(fb, prompt)
                row.update(prompt=_text(prompt), chosen=fb.corrected, rejected=original)
                pref.append(row)
        used = sorted({fb.model for fb in rows if fb.id not in result.skipped_no_transcript})
        if sft:
            result.sft = _write(catalog, f"{base}-sft", sft, DOCUMENT_SCHEMA, used)
        if pref:
            result.preference = _write(catalog, f"{base}-preference", pref, PREFERENCE_SCHEMA, used)
        result.sft_rows, result.preference_rows = len(sft), len(pref)
        return result


def _rows(
    s: Session, statuses: list[str], model: str | None, limit: int | None = None
) -> list[tuple[FeedbackRow, ModelVersion]]:
    q = select(FeedbackRow, ModelVersion).join(
        ModelVersion, ModelVersion.id == FeedbackRow.model_version_id
    )
    if statuses:
        q = q.where(FeedbackRow.status.in_(statuses))
    if model:
        name, _, version = model.partition(":")
        q = q.where(ModelVersion.name == name)
        if version:
            if not version.isdigit():
                raise FeedbackError(f"model must be NAME or NAME:VERSION, not {model!r}")
            q = q.where(ModelVersion.version == int(version))
    q = q.order_by(FeedbackRow.id)
    if limit is not None:
        q = q.limit(limit)
    return [(f, mv) for f, mv in s.execute(q)]


def _prompt_messages(t: TranscriptRecord, choice: int) -> list[dict[str, str]]:
    if "messages" in t.request:
        return [{"role": m["role"], "content": m["content"]} for m in t.request["messages"]]
    prompts = t.request.get("prompts") or [str(t.request.get("prompt", ""))]
    n = int(t.request.get("params", {}).get("n", 1)) or 1
    return [{"role": "user", "content": str(prompts[min(choice // n, len(prompts) - 1)])}]


def _text(messages: list[dict[str, str]]) -> str:
    return "\n".join(m["content"] for m in messages)


def _document(fb: FeedbackRecord, messages: list[dict[str, str]]) -> dict[str, Any]:
    text = _text(messages)
    labels = {"feedback_id": str(fb.id), "model": fb.model, "request_id": fb.request_id}
    if fb.rating is not None:
        labels["rating"] = str(fb.rating)
    return {
        "id": f"feedback-{fb.id}",
        "text": text,
        "messages": messages,
        "labels": json.dumps(labels, ensure_ascii=False, sort_keys=True),
        "lang": "zh" if _CJK.search(text) else "en",
        "source": f"feedback:{fb.id} model:{fb.model}",
    }


def _write(
    catalog: Catalog, name: str, rows: list[dict[str, Any]], schema: pa.Schema, models: list[str]
) -> DatasetRef:
    body = json.dumps(rows, ensure_ascii=False, sort_keys=True).encode()
    digest = hashlib.sha256(body).hexdigest()
    existing = catalog.find_dataset(name, digest)
    if existing is not None:
        return existing
    staged = catalog.staging_dir("dataset")
    try:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), staged / "train.parquet")
        ids = ",".join(r["id"].removeprefix("feedback-") for r in rows)
        ref, _ = catalog.add_dataset(
            name,
            staged,
            content_hash=digest,
            num_records=len(rows),
            splits={"train": len(rows)},
            source=f"feedback on {', '.join(models)}; feedback ids {ids}",
        )
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return ref
