"""Uploaded files in the store (migration 0013) and on disk: each line is checked in the chat
fine-tuning format before anything is kept, a refused file leaves neither a row nor bytes,
the bytes are kept exactly, and a tenant reaches only its own files."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from modelmint.catalog import (
    FileNotFound,
    FileRejected,
    FileTooLarge,
    UploadedFiles,
)
from modelmint.commerce.accounts import Tenants
from modelmint.store import Store
from modelmint.store.catalog_tables import UploadedFile

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def example(*turns: tuple[str, str]) -> dict:
    return {"messages": [{"role": r, "content": c} for r, c in turns]}


def jsonl(*examples: object) -> bytes:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples).encode()


GOOD = example(
    ("system", "你是客服。"), ("user", "我的订单什么时候发货？"), ("assistant", "明天发货。")
)


class Ticks:
    """A clock a second later at every call."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def tenants(store: Store) -> tuple[int, int]:
    t = Tenants(store)
    return t.create("acme").id, t.create("globex").id


@pytest.fixture
def files(store: Store, tmp_path: Path) -> UploadedFiles:
    return UploadedFiles(store, tmp_path / "artifacts", Ticks(), max_bytes=4096)


def _kept(store: Store, files: UploadedFiles) -> tuple[int, list[str]]:
    with store.session() as s:
        rows = s.scalar(select(func.count()).select_from(UploadedFile)) or 0
    on_disk = sorted(p.name for p in files.dir.iterdir()) if files.dir.exists() else []
    return rows, on_disk


def test_the_migration_makes_the_table(store: Store) -> None:
    columns = {c["name"] for c in inspect(store.engine).get_columns("uploaded_files")}
    assert columns == {
        "id",
        "file_id",
        "tenant_id",
        "filename",
        "purpose",
        "bytes",
        "sha256",
        "line_count",
        "created_at",
        "deleted_at",
    }


def test_a_file_is_kept_byte_for_byte(files: UploadedFiles, tenants: tuple[int, int]) -> None:
    acme, _ = tenants
    body = jsonl(GOOD, GOOD).replace(b"\n", b"\r\n", 1)  # CRLF lines pass as well
    r = files.add(acme, "训练.jsonl", "fine-tune", io.BytesIO(body))
    assert r.file_id.startswith("file-") and r.filename == "训练.jsonl"
    assert (r.bytes, r.line_count, r.purpose, r.created_at) == (
        len(body),
        2,
        "fine-tune",
        T0 + timedelta(seconds=1),
    )
    assert files.path(r.file_id).read_bytes() == body
    assert files.get(acme, r.file_id) == r
    record, handle = files.open(acme, r.file_id)
    with handle:
        assert record == r and handle.read() == body
    assert [p.name for p in files.dir.iterdir()] == [r.file_id]  # no temporary name left


def test_a_last_line_without_a_newline_and_a_bom_pass(
    files: UploadedFiles, tenants: tuple[int, int]
) -> None:
    body = b"\xef\xbb\xbf" + jsonl(GOOD, GOOD).rstrip(b"\n")
    r = files.add(tenants[0], "t.jsonl", "fine-tune", io.BytesIO(body))
    assert (r.line_count, r.bytes) == (2, len(body))


def test_a_line_split_across_chunks_is_read_whole(
    store: Store, tmp_path: Path, tenants: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("modelmint.catalog.files.CHUNK", 7)
    files = UploadedFiles(store, tmp_path / "artifacts")
    body = jsonl(GOOD, example(("user", "a" * 50), ("assistant", "好")), GOOD)
    r = files.add(tenants[0], "t.jsonl", "fine-tune", io.BytesIO(body))
    assert r.line_count == 3 and files.path(r.file_id).read_bytes() == body


BAD_LINES: list[tuple[bytes, str]] = [
    (b"not json", "line 2: is not valid JSON"),
    (b"[1, 2]", "line 2: must be a JSON object with a 'messages' list, not a list"),
    (b'{"prompt": "x"}', "line 2: messages is missing"),
    (b'{"messages": []}', "line 2: messages must be a non-empty list"),
    (b'{"messages": "hi"}', "line 2: messages must be a non-empty list of turns, not a string"),
    (b'{"messages": ["hi"]}', "line 2: messages[0] must be an object with role and content"),
    (
        b'{"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]}',
        "line 2: messages[1].role must be one of system, user, assistant (got 'bot')",
    ),
    (b'{"messages": [{"content": "a"}]}', "line 2: messages[0].role is missing"),
    (b'{"messages": [{"role": "user"}]}', "line 2: messages[0].content is missing"),
    (
        b'{"messages": [{"role": "assistant", "content": 3}]}',
        "line 2: messages[0].content must be a string, not a number",
    ),
    (
        b'{"messages": [{"role": "user", "content": "a"}]}',
        "line 2: messages must include at least one assistant turn",
    ),
    (
        b'{"messages": [{"role": "assistant", "content": "a", "mood": 1}]}',
        "line 2: messages[0] has an unknown field 'mood'",
    ),
    (
        b'{"messages": [{"role": "assistant", "content": "a", "weight": 2}]}',
        "line 2: messages[0].weight must be 0 or 1",
    ),
    (
        b'{"messages": [{"role": "user", "content": "a", "weight": 1}]}',
        "line 2: messages[0].weight is allowed on assistant turns only",
    ),
    (b"", "line 2: is empty"),
    (b'{"messages": [{"role": "user", "content": "\xe4\xbd"}]}', "line 2: is not valid UTF-8"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES, ids=[m for _, m in BAD_LINES])
def test_a_bad_line_is_named_and_nothing_is_kept(
    store: Store, files: UploadedFiles, tenants: tuple[int, int], line: bytes, message: str
) -> None:
    body = jsonl(GOOD) + line + b"\n" + jsonl(GOOD)
    with pytest.raises(FileRejected) as e:
        files.add(tenants[0], "t.jsonl", "fine-tune", io.BytesIO(body))
    assert str(e.value).startswith(message) and e.value.param == "file"
    assert _kept(store, files) == (0, [])


def test_weight_and_name_are_accepted(files: UploadedFiles, tenants: tuple[int, int]) -> None:
    line = {
        "messages": [
            {"role": "user", "content": "a", "name": "ana"},
            {"role": "assistant", "content": "b", "weight": 0},
            {"role": "assistant", "content": "c", "weight": 1},
        ]
    }
    assert files.add(tenants[0], "t.jsonl", "fine-tune", io.BytesIO(jsonl(line))).line_count == 1


def test_size_limit_purpose_name_and_emptiness(
    store: Store, files: UploadedFiles, tenants: tuple[int, int]
) -> None:
    acme = tenants[0]
    big = jsonl(*[GOOD] * 100)
    assert len(big) > files.max_bytes
    with pytest.raises(FileTooLarge, match=r"4,096 bytes .*MINT_FILES_MAX_BYTES"):
        files.add(acme, "t.jsonl", "fine-tune", io.BytesIO(big))
    with pytest.raises(FileRejected, match="purpose must be one of fine-tune") as e:
        files.add(acme, "t.jsonl", "batch", io.BytesIO(jsonl(GOOD)))
    assert e.value.param == "purpose"
    with pytest.raises(FileRejected, match="no name"):
        files.add(acme, "", "fine-tune", io.BytesIO(jsonl(GOOD)))
    with pytest.raises(FileRejected, match="empty"):
        files.add(acme, "t.jsonl", "fine-tune", io.BytesIO(b""))
    assert _kept(store, files) == (0, [])


def test_a_row_that_cannot_be_written_leaves_no_bytes(store: Store, files: UploadedFiles) -> None:
    # no such tenant: the row's foreign key fails, after the bytes were checked and written
    with pytest.raises(Exception):  # noqa: B017 (the database's own integrity error)
        files.add(999_999, "t.jsonl", "fine-tune", io.BytesIO(jsonl(GOOD)))
    assert _kept(store, files) == (0, [])


def test_tenants_see_only_their_own(files: UploadedFiles, tenants: tuple[int, int]) -> None:
    acme, globex = tenants
    mine = files.add(acme, "a.jsonl", "fine-tune", io.BytesIO(jsonl(GOOD)))
    theirs = files.add(globex, "g.jsonl", "fine-tune", io.BytesIO(jsonl(GOOD)))
    assert [f.file_id for f in files.listing(acme).files] == [mine.file_id]
    for call in (files.get, files.open, files.delete):
        with pytest.raises(FileNotFound, match=f"No such File object: {theirs.file_id}"):
            call(acme, theirs.file_id)
    with pytest.raises(FileNotFound):
        files.listing(acme, after=theirs.file_id)
    assert files.get(globex, theirs.file_id) == theirs  # untouched by acme's tries


def test_listing_pages_and_orders(files: UploadedFiles, tenants: tuple[int, int]) -> None:
    acme = tenants[0]
    ids = [
        files.add(acme, f"{i}.jsonl", "fine-tune", io.BytesIO(jsonl(GOOD))).file_id
        for i in range(5)
    ]
    newest_first = ids[::-1]
    first = files.listing(acme, limit=2)
    assert [f.file_id for f in first.files] == newest_first[:2] and first.has_more
    rest = files.listing(acme, after=first.files[-1].file_id)
    assert [f.file_id for f in rest.files] == newest_first[2:] and not rest.has_more
    assert [f.file_id for f in files.listing(acme, order="asc").files] == ids
    assert files.listing(acme, purpose="batch").files == []
    # a page may end on a file deleted since: it still marks the place
    files.delete(acme, ids[2])
    after_deleted = files.listing(acme, after=ids[2])
    assert [f.file_id for f in after_deleted.files] == [ids[1], ids[0]]


def test_delete_marks_the_row_and_removes_the_bytes(
    store: Store, files: UploadedFiles, tenants: tuple[int, int]
) -> None:
    acme = tenants[0]
    r = files.add(acme, "a.jsonl", "fine-tune", io.BytesIO(jsonl(GOOD)))
    assert files.delete(acme, r.file_id) == r
    assert not files.path(r.file_id).exists()
    with store.session() as s:
        row = s.scalar(select(UploadedFile).where(UploadedFile.file_id == r.file_id))
        assert row is not None and row.deleted_at is not None
    for call in (files.get, files.open, files.delete):
        with pytest.raises(FileNotFound):
            call(acme, r.file_id)
    assert files.listing(acme).files == []


@pytest.mark.parametrize(
    "file_id", ["nope", "file-", "file-" + "0" * 24 + "\n", "\x00", "x" * 10_000]
)
def test_ids_of_another_form_are_not_found(
    files: UploadedFiles, tenants: tuple[int, int], file_id: str
) -> None:
    with pytest.raises(FileNotFound):
        files.get(tenants[0], file_id)
