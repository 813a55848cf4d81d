"""OpenAI's Files API: ``POST /v1/files`` (multipart: ``file`` and ``purpose``), ``GET
/v1/files``, ``GET /v1/files/{file_id}``, ``GET /v1/files/{file_id}/content`` and ``DELETE
/v1/files/{file_id}``, in OpenAI's shapes, so the official client's ``client.files`` works
as it is. A file belongs to the tenant whose key uploaded it; any other tenant is told it
does not exist. The catalog checks and keeps the files (``catalog.UploadedFiles``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from modelmint.catalog import (
    MAX_LISTED_FILES,
    FileNotFound,
    FileRecord,
    FileRejected,
    FileTooLarge,
)
from modelmint.commerce.accounts import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.errors import APIError

router = APIRouter(tags=["files"])
CHUNK = 1 << 20  # what a file's content is sent in


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["processed"] = "processed"  # checked in full before it was kept


class FileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: Literal[True] = True


def _file_object(r: FileRecord) -> FileObject:
    return FileObject(
        id=r.file_id,
        bytes=r.bytes,
        created_at=int(r.created_at.timestamp()),
        filename=r.filename,
        purpose=r.purpose,
    )


def _not_found(e: FileNotFound) -> APIError:
    return APIError(404, f"{e}.", param="file_id", code="file_not_found")


@router.post("/v1/files", response_model=FileObject)
async def create_file(
    file: UploadFile = File(description="JSONL, one chat example per line"),
    purpose: str = Form(description="what the file is for: fine-tune"),
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> FileObject:
    """Checks the file in full (each line an example in the chat fine-tuning format, within
    the size limit) and keeps it; a file that does not pass is refused, naming the first
    line at fault, and nothing of it is kept."""
    try:
        record = await run_in_threadpool(
            ctx.files.add, principal.tenant_id, file.filename or "", purpose, file.file
        )
    except FileTooLarge as e:
        raise APIError(413, str(e), param=e.param, code="file_too_large") from e
    except FileRejected as e:
        raise APIError(400, str(e), param=e.param, code="invalid_file") from e
    return _file_object(record)


@router.get("/v1/files", response_model=FileList)
async def list_files(
    purpose: str | None = Query(None, description="only the files of this purpose"),
    limit: int = Query(MAX_LISTED_FILES, ge=1, le=MAX_LISTED_FILES),
    order: Literal["asc", "desc"] = Query("desc", description="by creation time"),
    after: str | None = Query(None, description="the last file id of the previous page"),
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> FileList:
    """This key's tenant's files, newest first unless ``order`` is ``asc``."""
    try:
        page = await run_in_threadpool(
            lambda: ctx.files.listing(
                principal.tenant_id, purpose=purpose, limit=limit, order=order, after=after
            )
        )
    except FileNotFound as e:
        raise APIError(
            400, f"{e}: after must be a file id from the previous page.", param="after"
        ) from e
    data = [_file_object(r) for r in page.files]
    return FileList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=page.has_more,
    )


@router.get("/v1/files/{file_id}", response_model=FileObject)
async def retrieve_file(
    file_id: str,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> FileObject:
    try:
        return _file_object(await run_in_threadpool(ctx.files.get, principal.tenant_id, file_id))
    except FileNotFound as e:
        raise _not_found(e) from e


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@router.get(
    "/v1/files/{file_id}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The bytes"}},
)
async def file_content(
    file_id: str,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> StreamingResponse:
    """The file's bytes, exactly as they were uploaded."""
    try:
        record, handle = await run_in_threadpool(ctx.files.open, principal.tenant_id, file_id)
    except FileNotFound as e:
        raise _not_found(e) from e
    return StreamingResponse(
        _chunks(handle),
        media_type="application/octet-stream",
        headers={"Content-Length": str(record.bytes)},
    )


@router.delete("/v1/files/{file_id}", response_model=FileDeleted)
async def delete_file(
    file_id: str,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> FileDeleted:
    try:
        record = await run_in_threadpool(ctx.files.delete, principal.tenant_id, file_id)
    except FileNotFound as e:
        raise _not_found(e) from e
    return FileDeleted(id=record.file_id)
