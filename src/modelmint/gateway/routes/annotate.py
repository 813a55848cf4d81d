"""The annotator page: ``GET /label`` (the page; it shows a sign-in form without a
session), ``POST /label/session`` (token -> session cookie), ``POST
/label/session/logout`` and the JSON API under ``/label/api`` that the page calls: the
annotator's projects with progress, the next item, a label, a skip. The labeling stage
does the work; this router checks who is asking (the session cookie, the annotator not
revoked, the project allowed) and the CSRF token of every change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from modelmint.catalog import Catalog
from modelmint.config.clock import Clock, utc_now
from modelmint.gateway.admin.common import error_doc
from modelmint.gateway.errors import APIError
from modelmint.gateway.web_session import (
    PAGE_HEADERS,
    SessionRevocations,
    WebSession,
    WebSessions,
    accept_language,
)
from modelmint.labeling.annotations import Annotations
from modelmint.labeling.annotators import LANGUAGES, AnnotatorInfo, Annotators
from modelmint.labeling.projects import LabelingError, LabelProjects, Progress
from modelmint.labeling.queue import ItemView, LabelQueue
from modelmint.store import Store

T = TypeVar("T")
STATIC_DIR = Path(str(files("modelmint.gateway").joinpath("static", "annotate")))
PAGE_PATH = "/label"


router = APIRouter(
    tags=["annotate"],
    responses={
        400: error_doc("Invalid request: the message says what is wrong and what to do."),
        401: error_doc("Not signed in, the session expired, or the annotator was revoked."),
        403: error_doc("The X-CSRF-Token header is missing or is not this session's token."),
        404: error_doc("No such project or item, or one this annotator may not label."),
    },
)


@dataclass
class LabelServices:
    """What the page's routes use, built once per app by ``gateway.wiring.build_gateway``
    from the gateway's store, pepper, catalog and clock."""

    store: Store
    pepper: bytes
    catalog: Catalog  # the datasets a project labels
    clock: Clock = utc_now
    session_hours: float = 12.0

    @cached_property
    def sessions(self) -> WebSessions:
        return WebSessions(
            self.pepper,
            name="mint_label",
            path=PAGE_PATH,
            revocations=SessionRevocations(self.store, self.clock),
            max_age=timedelta(hours=self.session_hours),
            clock=self.clock,
        )

    @cached_property
    def annotators(self) -> Annotators:
        return Annotators(self.store, self.pepper, self.clock)

    @cached_property
    def projects(self) -> LabelProjects:
        return LabelProjects(self.store, self.catalog, self.clock)

    @cached_property
    def queue(self) -> LabelQueue:
        return LabelQueue(self.store, self.clock)

    @cached_property
    def annotations(self) -> Annotations:
        return Annotations(self.store, self.clock)


def get_label_services(request: Request) -> LabelServices:
    """The app's labeling services (``app.state.label_services``, set by ``create_app``)."""
    services: LabelServices = request.app.state.label_services
    return services


# -- who is asking ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    annotator: AnnotatorInfo
    session: WebSession


async def signed_in(
    request: Request, services: LabelServices = Depends(get_label_services)
) -> Caller:
    """The annotator of the session cookie, looked up now: a revoked one is out at once."""
    session = await services.sessions.current(request)
    if session is None:
        raise APIError(
            401,
            "You are not signed in (or the session expired): sign in at /label with your "
            "annotator token (`mint label annotators add NAME` makes one).",
            code="not_signed_in",
        )
    annotator = await run_in_threadpool(services.annotators.by_prefix, session.subject)
    if annotator is None or not annotator.active:
        raise APIError(
            401,
            "This annotator's access was revoked; ask for a new token.",
            code="annotator_revoked",
        )
    return Caller(annotator, session)


async def changing(
    request: Request,
    caller: Caller = Depends(signed_in),
    services: LabelServices = Depends(get_label_services),
) -> Caller:
    """A signed-in caller whose request carries the session's CSRF token."""
    services.sessions.check_csrf(request, caller.session)
    return caller


def _allowed(services: LabelServices, caller: Caller, project: str) -> None:
    # a project the annotator may not label is reported as not existing (no probing)
    if not services.annotators.may_label(caller.annotator, project):
        raise APIError(404, f"No label project {project!r}.", param="project", code="not_found")


def _labeling_error(e: LabelingError, project: str) -> APIError:
    if str(e).startswith("no label project"):
        return APIError(404, f"No label project {project!r}.", param="project", code="not_found")
    if "is not in project" in str(e):
        return APIError(404, f"{e}.", param="item_id", code="not_found")
    return APIError(400, f"{e}.", param="value", code="invalid_value")


async def _in_project(project: str, work: Callable[[], T]) -> T:
    """``work`` (the labeling stage's blocking calls) off the event loop, its refusals as
    the API's errors."""
    try:
        return await run_in_threadpool(work)
    except LabelingError as e:
        raise _labeling_error(e, project) from e


# -- request and response models -------------------------------------------------------------
class SignInRequest(BaseModel):
    token: str = Field(min_length=1, max_length=200)


class LanguageRequest(BaseModel):
    language: str = Field(pattern="^(en|zh)$")


class MeResponse(BaseModel):
    name: str
    language: str
    projects: list[str]


class ProgressOut(BaseModel):
    items: int
    finished: int  # items with as many labels as the project's overlap
    labels: int  # labels given by everyone
    mine: int  # labels given by this annotator


class ProjectOut(BaseModel):
    name: str
    kind: str
    labels: list[str]
    guidelines: str
    overlap: int
    progress: ProgressOut


class ItemOut(BaseModel):
    id: int
    position: int
    external_id: str | None
    content: dict[str, Any]
    suggestion: Any | None
    confidence: float | None
    suggestion_source: str | None


MAX_ID = 2**31 - 1  # item ids live in 32-bit columns: a larger one is a 400, not a 500
ItemId = Annotated[int, Field(ge=1, le=MAX_ID)]
ItemPath = Annotated[int, PathParam(ge=1, le=MAX_ID, description="The item's id.")]
ProjectPath = Annotated[
    str, PathParam(min_length=1, max_length=200, description="The label project's name.")
]


class NextRequest(BaseModel):
    skip: list[ItemId] = Field(default_factory=list, max_length=5000)


class NextResponse(BaseModel):
    item: ItemOut | None
    progress: ProgressOut


class LabelRequest(BaseModel):
    value: Any
    seconds: float | None = Field(None, ge=0, le=86_400)


class LabelResponse(BaseModel):
    item_id: int
    value: Any
    suggestion_use: str  # accepted | overrode | none
    replaced: bool
    progress: ProgressOut


class SkipResponse(BaseModel):
    item_id: int
    released: int
    progress: ProgressOut


def _progress(p: Progress, annotator: str) -> ProgressOut:
    return ProgressOut(
        items=p.items, finished=p.finished, labels=p.labels, mine=p.per_annotator.get(annotator, 0)
    )


def _item(v: ItemView) -> ItemOut:
    return ItemOut(
        id=v.id,
        position=v.position,
        external_id=v.external_id,
        content=v.content,
        suggestion=v.suggestion,
        confidence=v.confidence,
        suggestion_source=v.suggestion_source,
    )


# -- the page and the session ----------------------------------------------------------------
@router.get(PAGE_PATH, response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, services: LabelServices = Depends(get_label_services)) -> Response:
    session = await services.sessions.current(request)
    annotator = None
    if session is not None:
        annotator = await run_in_threadpool(services.annotators.by_prefix, session.subject)
    signed = annotator is not None and annotator.active
    language = (
        annotator.language
        if signed and annotator
        else accept_language(request.headers.get("accept-language", ""), LANGUAGES)
    )
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    html = html.replace("__LANG__", language).replace("__SIGNED_IN__", str(signed).lower())
    response = HTMLResponse(html, headers=PAGE_HEADERS)
    if not signed:
        services.sessions.ensure_csrf_cookie(request, response)
    return response


@router.post(f"{PAGE_PATH}/session", response_model=MeResponse)
async def sign_in(
    req: SignInRequest,
    request: Request,
    response: Response,
    services: LabelServices = Depends(get_label_services),
) -> MeResponse:
    services.sessions.check_csrf(request, None)  # the sign-in form's own token
    annotator = await run_in_threadpool(services.annotators.authenticate, req.token)
    if annotator is None:
        raise APIError(401, "Incorrect annotator token (wrong or revoked).", code="invalid_token")
    await services.sessions.start(request, response, annotator.prefix)
    projects = await run_in_threadpool(services.annotators.projects_for, annotator)
    return MeResponse(name=annotator.name, language=annotator.language, projects=projects)


@router.post(f"{PAGE_PATH}/session/logout", status_code=204)
async def sign_out(
    request: Request,
    services: LabelServices = Depends(get_label_services),
) -> Response:
    # signing out needs the token too (else any site could sign you out), but no live
    # session: a revoked annotator may still sign out
    services.sessions.check_csrf(request, await services.sessions.current(request))
    response = Response(status_code=204)
    await services.sessions.end(request, response)  # revoked on the server, not only forgotten
    return response


# -- the JSON API ----------------------------------------------------------------------------
API = f"{PAGE_PATH}/api"


@router.get(f"{API}/me", response_model=MeResponse)
async def me(
    caller: Caller = Depends(signed_in), services: LabelServices = Depends(get_label_services)
) -> MeResponse:
    projects = await run_in_threadpool(services.annotators.projects_for, caller.annotator)
    a = caller.annotator
    return MeResponse(name=a.name, language=a.language, projects=projects)


@router.post(f"{API}/me/language", response_model=MeResponse)
async def set_language(
    req: LanguageRequest,
    caller: Caller = Depends(changing),
    services: LabelServices = Depends(get_label_services),
) -> MeResponse:
    a = await run_in_threadpool(
        services.annotators.set_language, caller.annotator.name, req.language
    )
    projects = await run_in_threadpool(services.annotators.projects_for, a)
    return MeResponse(name=a.name, language=a.language, projects=projects)


@router.get(f"{API}/projects", response_model=list[ProjectOut])
async def projects(
    caller: Caller = Depends(signed_in), services: LabelServices = Depends(get_label_services)
) -> list[ProjectOut]:
    def load() -> list[ProjectOut]:
        out = []
        for name in services.annotators.projects_for(caller.annotator):
            p = services.projects.get(name)
            progress = services.projects.progress(name)
            out.append(
                ProjectOut(
                    name=p.name,
                    kind=p.kind,
                    labels=p.labels,
                    guidelines=p.guidelines,
                    overlap=p.overlap,
                    progress=_progress(progress, caller.annotator.name),
                )
            )
        return out

    return await run_in_threadpool(load)


@router.post(f"{API}/projects/{{project}}/next", response_model=NextResponse)
async def next_item(
    project: ProjectPath,
    req: NextRequest,
    caller: Caller = Depends(changing),  # assigning an item is a change
    services: LabelServices = Depends(get_label_services),
) -> NextResponse:
    _allowed(services, caller, project)
    name = caller.annotator.name

    def take() -> NextResponse:
        item = services.queue.next_item(project, name, skip=req.skip)
        progress = services.projects.progress(project)
        return NextResponse(item=_item(item) if item else None, progress=_progress(progress, name))

    return await _in_project(project, take)


@router.post(f"{API}/projects/{{project}}/items/{{item_id}}/label", response_model=LabelResponse)
async def label_item(
    project: ProjectPath,
    item_id: ItemPath,
    req: LabelRequest,
    caller: Caller = Depends(changing),
    services: LabelServices = Depends(get_label_services),
) -> LabelResponse:
    _allowed(services, caller, project)
    name = caller.annotator.name

    def submit() -> LabelResponse:
        a = services.annotations.submit(project, item_id, name, req.value, req.seconds)
        progress = services.projects.progress(project)
        return LabelResponse(
            item_id=a.item_id,
            value=a.value,
            suggestion_use=a.suggestion_use,
            replaced=a.replaced,
            progress=_progress(progress, name),
        )

    return await _in_project(project, submit)


@router.post(f"{API}/projects/{{project}}/items/{{item_id}}/skip", response_model=SkipResponse)
async def skip_item(
    project: ProjectPath,
    item_id: ItemPath,
    caller: Caller = Depends(changing),
    services: LabelServices = Depends(get_label_services),
) -> SkipResponse:
    """Gives the item back (others may take it); the page then asks for the next item with
    this one in ``skip``, so it does not come back this session."""
    _allowed(services, caller, project)
    name = caller.annotator.name

    def release() -> SkipResponse:
        # the page holds one pending item at a time, so releasing this annotator's
        # unlabeled assignments gives back the skipped one
        released = services.queue.release(project, name)
        progress = services.projects.progress(project)
        return SkipResponse(item_id=item_id, released=released, progress=_progress(progress, name))

    return await _in_project(project, release)
