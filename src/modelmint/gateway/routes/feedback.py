"""``POST /v1/feedback``: what an API user says about an answer (a rating, a corrected
answer, tags), given with a key of the tenant that made the request; and the transcript
hook the generating routes use for ``store: true``. The labeling stage does the work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, model_validator

from modelmint.commerce import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.errors import APIError
from modelmint.gateway.generation import GenerationCall
from modelmint.labeling.feedback import Feedback, FeedbackError, FeedbackRecord, NotFound
from modelmint.labeling.transcripts import Transcripts

router = APIRouter(tags=["feedback"])


def transcript_keeper(
    ctx: GatewayContext, call: GenerationCall, request: dict[str, Any]
) -> Callable[[list[str]], None]:
    """What ``call.keep`` runs for a request with ``store: true`` or whose tenant keeps
    every transcript."""
    return Transcripts(ctx.ledger.store).keeper(
        call.request_id,
        tenant_id=call.principal.tenant_id,
        api_key_id=call.principal.key_id,
        model_version_id=call.served.model_version_id,
        endpoint=call.endpoint,
        request=request,
    )


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field would lose what was said

    request_id: str = Field(min_length=1, max_length=100)
    choice: int = Field(0, ge=0)
    rating: int | None = Field(None, ge=1, le=5)
    corrected: str | None = Field(None, min_length=1, max_length=100_000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    comment: str = Field("", max_length=10_000)

    @model_validator(mode="after")
    def _something_said(self) -> FeedbackRequest:
        if self.rating is None and self.corrected is None:
            raise ValueError("give a rating (1-5), a corrected answer, or both")
        return self


class FeedbackResponse(BaseModel):
    id: int
    object: Literal["feedback"] = "feedback"
    request_id: str
    choice: int
    model: str
    rating: int | None
    corrected: str | None
    tags: list[str]
    comment: str
    status: str
    created_at: int


def _response(r: FeedbackRecord) -> FeedbackResponse:
    return FeedbackResponse(
        id=r.id,
        request_id=r.request_id,
        choice=r.choice,
        model=r.model,
        rating=r.rating,
        corrected=r.corrected,
        tags=r.tags,
        comment=r.comment,
        status=r.status,
        created_at=int(r.created_at.timestamp()),
    )


@router.post(
    "/v1/feedback",
    response_model=FeedbackResponse,
    responses={201: {"model": FeedbackResponse, "description": "Feedback recorded"}},
)
async def create_feedback(
    req: FeedbackRequest,
    response: Response,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> FeedbackResponse:
    """New feedback answers 201; feedback again on the same request and choice replaces it
    and answers 200."""
    try:
        record, created = await run_in_threadpool(
            lambda: Feedback(ctx.ledger.store).record(
                req.request_id,
                tenant_id=principal.tenant_id,
                api_key_id=principal.key_id,
                choice=req.choice,
                rating=req.rating,
                corrected=req.corrected,
                tags=req.tags,
                comment=req.comment,
            )
        )
    except NotFound as e:
        raise APIError(404, f"{e}.", param="request_id", code="request_not_found") from e
    except FeedbackError as e:
        param = "choice" if "choice" in str(e) else None
        raise APIError(400, f"{e}.", param=param, code="invalid_value") from e
    response.status_code = 201 if created else 200
    return _response(record)
