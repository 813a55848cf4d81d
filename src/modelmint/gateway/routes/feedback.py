"""``POST /v1/feedback``: what an API user says about an answer (a rating, a corrected
answer, tags), given with a key of the tenant that made the request. The labeling stage
does the work."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.errors import APIError
from modelmint.gateway.schemas import MAX_CHOICES
from modelmint.labeling.feedback import FeedbackError, FeedbackRecord, NotFound

router = APIRouter(tags=["feedback"])


def _no_nul(text: str) -> str:
    # PostgreSQL cannot store NUL in text: refused here, with the field's name, not a 500
    if "\x00" in text:
        raise ValueError("text cannot contain NUL characters")
    return text


MAX_TAGS = 20
MAX_TAG_CHARS = 100
Tag = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TAG_CHARS), AfterValidator(_no_nul)
]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field would lose what was said

    request_id: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
    # a request has at most MAX_CHOICES answers; a bound also keeps it in its 32-bit column
    choice: int = Field(0, ge=0, le=MAX_CHOICES - 1)
    rating: int | None = Field(None, ge=1, le=5)
    corrected: (
        Annotated[str, StringConstraints(min_length=1, max_length=100_000), AfterValidator(_no_nul)]
        | None
    ) = None
    tags: list[Tag] = Field(
        default_factory=list,
        max_length=MAX_TAGS,
        description=f"At most {MAX_TAGS} tags of 1 to {MAX_TAG_CHARS} characters each.",
    )
    comment: Annotated[str, Field(max_length=10_000), AfterValidator(_no_nul)] = ""

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
            lambda: ctx.feedback.record(
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
