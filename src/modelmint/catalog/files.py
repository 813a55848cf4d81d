"""Files tenants upload (the gateway's Files API). A file is copied to a temporary name
beside its place in ``artifacts/files/`` and checked as it is copied, line by line in its
purpose's format, against the size limit; only a file that passed is renamed to
``artifacts/files/<file_id>`` and recorded, in one step. A refused upload leaves nothing
behind, neither a row nor bytes on disk.

A tenant sees only its own files: another tenant's id is answered exactly as an id that
never existed. Deleting a file removes its bytes and keeps its row, marked deleted."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from modelmint.catalog.errors import FileNotFound, FileRejected, FileTooLarge
from modelmint.catalog.fine_tune_format import check_chat_line
from modelmint.config.clock import Clock, utc, utc_now
from modelmint.store import Store
from modelmint.store.catalog_tables import UploadedFile

DEFAULT_MAX_BYTES = 64 << 20
# Each purpose and the check every line of its files must pass. Only fine-tuning data, for
# now: a file kept here is training data for this server's models.
LINE_CHECKS: dict[str, Callable[[int, bytes], None]] = {"fine-tune": check_chat_line}
PURPOSES = tuple(LINE_CHECKS)
MAX_LISTED_FILES = 10_000
MAX_FILENAME_CHARS = 255
FILE_ID_RE = re.compile(r"^file-[0-9a-f]{24}$")
CHUNK = 1 << 20


@dataclass(frozen=True)
class FileRecord:
    file_id: str
    tenant_id: int
    filename: str
    purpose: str
    bytes: int
    sha256: str
    line_count: int
    created_at: datetime


@dataclass(frozen=True)
class FilePage:
    """One page of a tenant's files; ``has_more`` when more follow the last one."""

    files: list[FileRecord]
    has_more: bool


def file_record(row: UploadedFile) -> FileRecord:
    return FileRecord(
        file_id=row.file_id,
        tenant_id=row.tenant_id,
        filename=row.filename,
        purpose=row.purpose,
        bytes=row.bytes,
        sha256=row.sha256,
        line_count=row.line_count,
        created_at=utc(row.created_at),
    )


def describe_size(n: int) -> str:
    """``64 MiB`` for a whole number of MiB, else the bytes (``1,000 bytes``)."""
    return f"{n >> 20} MiB" if n % (1 << 20) == 0 else f"{n:,} bytes"


def too_large_message(max_bytes: int) -> str:
    return (
        f"The file is larger than the {describe_size(max_bytes)} this server accepts "
        "(MINT_FILES_MAX_BYTES). Split it into smaller files and upload each, or ask the "
        "server's operator to raise MINT_FILES_MAX_BYTES."
    )


@dataclass(frozen=True)
class _Copied:
    sha256: str
    bytes: int
    lines: int


def _copy_checked(
    source: BinaryIO, out: BinaryIO, max_bytes: int, check: Callable[[int, bytes], None]
) -> _Copied:
    """Copies ``source`` to ``out``, hashing it and passing each line (without its newline)
    to ``check`` as it goes; stops at the first line refused or the first byte past
    ``max_bytes``."""
    digest, size, line_no, pending = hashlib.sha256(), 0, 0, bytearray()
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge(too_large_message(max_bytes))
        digest.update(chunk)
        out.write(chunk)
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            pending += chunk[start:end]
            line_no += 1
            check(line_no, bytes(pending))
            pending.clear()
            start = end + 1
        pending += chunk[start:]
    if pending:  # the last line, without a newline after it
        line_no += 1
        check(line_no, bytes(pending))
    if size == 0:
        raise FileRejected("The file is empty: upload a file with one example per line.")
    return _Copied(digest.hexdigest(), size, line_no)


def _check_name(filename: str) -> None:
    if not filename.strip():
        raise FileRejected("The file has no name: send it with a filename.")
    if len(filename) > MAX_FILENAME_CHARS or "\x00" in filename:
        raise FileRejected(
            f"The file's name must be at most {MAX_FILENAME_CHARS} characters, without NUL."
        )


class UploadedFiles:
    """Each tenant's uploaded files: their records in the store, their bytes under
    ``artifacts_dir / "files"``; an upload larger than ``max_bytes`` is refused."""

    def __init__(
        self,
        store: Store,
        artifacts_dir: Path,
        clock: Clock = utc_now,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.store = store
        self.dir = artifacts_dir / "files"
        self.clock = clock
        self.max_bytes = max_bytes

    def path(self, file_id: str) -> Path:
        return self.dir / file_id

    def add(self, tenant_id: int, filename: str, purpose: str, source: BinaryIO) -> FileRecord:
        """Checks ``source`` (read from where it stands to its end) and keeps it as a new
        file of the tenant's; raises `FileRejected` (`FileTooLarge`) and keeps nothing if it
        does not pass."""
        check = LINE_CHECKS.get(purpose)
        if check is None:
            raise FileRejected(
                f"purpose must be one of {', '.join(PURPOSES)} (got {purpose[:50]!r}): this server "
                "keeps files as fine-tuning data",
                param="purpose",
            )
        _check_name(filename)
        file_id = f"file-{secrets.token_hex(12)}"
        self.dir.mkdir(parents=True, exist_ok=True)
        partial, final = self.dir / f".{file_id}.partial", self.path(file_id)
        placed = False
        try:
            with open(partial, "xb") as out:
                copied = _copy_checked(source, out, self.max_bytes, check)
                out.flush()
                os.fsync(out.fileno())
            with self.store.session() as s:
                row = UploadedFile(
                    file_id=file_id,
                    tenant_id=tenant_id,
                    filename=filename,
                    purpose=purpose,
                    bytes=copied.bytes,
                    sha256=copied.sha256,
                    line_count=copied.lines,
                    created_at=self.clock(),
                )
                s.add(row)
                s.flush()
                # in the transaction, so a failed commit takes the file back out (below)
                partial.rename(final)
                placed = True
            return file_record(row)
        except BaseException:
            partial.unlink(missing_ok=True)
            if placed:
                final.unlink(missing_ok=True)
            raise

    def get(self, tenant_id: int, file_id: str) -> FileRecord:
        """The tenant's file ``file_id``; `FileNotFound` if it has none of that id."""
        with self.store.session() as s:
            return file_record(self._row(s, tenant_id, file_id))

    def listing(
        self,
        tenant_id: int,
        *,
        purpose: str | None = None,
        limit: int = MAX_LISTED_FILES,
        order: Literal["asc", "desc"] = "desc",
        after: str | None = None,
    ) -> FilePage:
        """The tenant's files (of ``purpose`` only, when given), newest first (``desc``) or
        oldest first, at most ``limit`` of them, starting after the file ``after`` (a
        cursor: a file id from the previous page). An ``after`` that is none of the
        tenant's files raises `FileNotFound`."""
        if purpose is not None and purpose not in PURPOSES:
            return FilePage([], has_more=False)
        limit = max(1, min(limit, MAX_LISTED_FILES))
        with self.store.session() as s:
            q = select(UploadedFile).where(
                UploadedFile.tenant_id == tenant_id, UploadedFile.deleted_at.is_(None)
            )
            if purpose is not None:
                q = q.where(UploadedFile.purpose == purpose)
            if after is not None:
                # a deleted file still marks its place, so a page may end on one deleted since
                cursor = self._row(s, tenant_id, after, deleted_too=True).id
                q = q.where(
                    UploadedFile.id < cursor if order == "desc" else UploadedFile.id > cursor
                )
            key = UploadedFile.id.desc() if order == "desc" else UploadedFile.id.asc()
            rows = list(s.scalars(q.order_by(key).limit(limit + 1)))
            return FilePage([file_record(r) for r in rows[:limit]], has_more=len(rows) > limit)

    def open(self, tenant_id: int, file_id: str) -> tuple[FileRecord, BinaryIO]:
        """The tenant's file ``file_id`` and its bytes, open for reading (the caller closes
        them); a file deleted meanwhile is `FileNotFound` too."""
        record = self.get(tenant_id, file_id)
        try:
            return record, open(self.path(file_id), "rb")
        except FileNotFoundError:
            raise FileNotFound(f"No such File object: {file_id}") from None

    def delete(self, tenant_id: int, file_id: str) -> FileRecord:
        """Deletes the tenant's file ``file_id``: marked deleted in the store, then its
        bytes removed. A second delete finds nothing (`FileNotFound`)."""
        with self.store.write_session() as s:  # it reads, then writes
            record = file_record(self._row(s, tenant_id, file_id))
            done = s.execute(
                update(UploadedFile)
                .where(UploadedFile.file_id == file_id, UploadedFile.deleted_at.is_(None))
                .values(deleted_at=self.clock())
            )
            if cast(CursorResult[Any], done).rowcount != 1:  # deleted meanwhile
                raise FileNotFound(f"No such File object: {file_id}")
        with contextlib.suppress(FileNotFoundError):
            self.path(file_id).unlink()
        return record

    def _row(
        self, s: Session, tenant_id: int, file_id: str, *, deleted_too: bool = False
    ) -> UploadedFile:
        # an id of another form is never looked up (nor is text the database cannot hold)
        row = (
            s.scalar(select(UploadedFile).where(UploadedFile.file_id == file_id))
            if FILE_ID_RE.fullmatch(file_id)
            else None
        )
        if row is None or row.tenant_id != tenant_id or (row.deleted_at and not deleted_too):
            raise FileNotFound(f"No such File object: {file_id}")
        return row
