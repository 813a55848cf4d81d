"""Reading raw files into documents of one schema, whatever shape they came in.

A document is a dict:

    id        str                 the input's "id" field, else "<file name>:<line>"
    text      str                 the text to filter, deduplicate and train on; for chat
                                  data, the message contents joined by newlines
    messages  list[{role, content}] | None   chat turns, roles system/user/assistant
    labels    dict[str, str]      scalar fields carried through (intent, sentiment, label, …)
    source    str                 "<path>:<line>" (or "<path>:<row>" / "<path>") for errors
    place_id  str                 "<file name>:<line>", the id when the input has none; also
                                  the one curation gives a record whose own id is PII

Chat shapes recognised: OpenAI ``messages`` ([{role, content}]), ShareGPT ``conversations``
([{from: human|gpt|system, value}]) and Alpaca (``instruction``, optional ``input``,
``output``). Plain records need a text field (``--text-field``, default ``text``).
Files may be gzip (``.gz``) or zstd (``.zst``) compressed."""

from __future__ import annotations

import csv
import glob
import gzip
import io
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

import pyarrow.parquet as pq

from modelmint.catalog.fine_tune_format import ROLES as CHAT_ROLES
from modelmint.errors import UserError

FORMATS = ("txt", "jsonl", "csv", "parquet")
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
    "chatgpt": "assistant",
    "bing": "assistant",
}
# Fields that hold the text itself, never carried as labels.
CONTENT_FIELDS = {"messages", "conversations", "instruction", "input", "output", "id"}


class InputError(UserError, ValueError):
    """A record that cannot be read; the message names the file, the line and the fix."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def expand_paths(specs: Sequence[str | Path]) -> list[Path]:
    """Files, directories (recursively, hidden files skipped) and glob patterns, sorted so
    the same inputs always give the same order and the same content hash."""
    found: list[Path] = []
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and not _hidden(f, p))
        elif p.is_file():
            found.append(p)
        else:
            matches = sorted(Path(m) for m in glob.glob(str(spec), recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise InputError(str(spec), "no such file, directory or matching glob")
            found += files
    return list(dict.fromkeys(found))


def _hidden(f: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in f.relative_to(root).parts)


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".zst", ".zstd")]
    ext = suffixes[-1].lstrip(".") if suffixes else ""
    aliases = {
        "json": "jsonl",
        "ndjson": "jsonl",
        "jsonl": "jsonl",
        "csv": "csv",
        "tsv": "csv",
        "parquet": "parquet",
        "pq": "parquet",
        "txt": "txt",
        "text": "txt",
        "md": "txt",
    }
    if ext not in aliases:
        raise InputError(
            str(path),
            f"unknown file type {ext or '(none)'!r}; pass --format one of {', '.join(FORMATS)}",
        )
    return aliases[ext]


def open_bytes(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".gz"):
        return cast("IO[bytes]", gzip.open(path, "rb"))  # typeshed: GzipFile is not IO
    if name.endswith((".zst", ".zstd")):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(path.open("rb")))
    return path.open("rb")


def open_text(path: Path) -> IO[str]:
    return io.TextIOWrapper(open_bytes(path), encoding="utf-8")


_NOT_UTF8 = "not UTF-8 text; convert the file to UTF-8"


def _messages_openai(value: Any, source: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise InputError(
            source, 'field \'messages\' must be a non-empty list of {"role", "content"} objects'
        )
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or m.get("role") not in CHAT_ROLES:
            raise InputError(
                source, f"field 'messages[{i}].role' must be one of {sorted(CHAT_ROLES)}"
            )
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            texts = [p["text"] for p in content if isinstance(p, dict) and "text" in p]
            if not all(isinstance(t, str) for t in texts):
                raise InputError(source, f"field 'messages[{i}].content[].text' must be a string")
            content = "".join(texts)
        if not isinstance(content, str):
            raise InputError(source, f"field 'messages[{i}].content' must be a string")
        out.append({"role": m["role"], "content": content})
    return out


def _messages_sharegpt(value: Any, source: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise InputError(
            source, 'field \'conversations\' must be a non-empty list of {"from", "value"} objects'
        )
    out = []
    for i, m in enumerate(value):
        role = SHAREGPT_ROLES.get(str(m.get("from", "")).lower()) if isinstance(m, dict) else None
        if role is None or not isinstance(m.get("value"), str):
            raise InputError(
                source,
                f"field 'conversations[{i}]' needs 'from' in "
                f"{sorted(SHAREGPT_ROLES)} and a string 'value'",
            )
        out.append({"role": role, "content": m["value"]})
    return out


def _messages_alpaca(obj: dict[str, Any], source: str) -> list[dict[str, str]]:
    instruction, extra, output = obj.get("instruction"), obj.get("input") or "", obj.get("output")
    if not isinstance(instruction, str) or not isinstance(output, str):
        raise InputError(source, "Alpaca records need string fields 'instruction' and 'output'")
    prompt = f"{instruction}\n\n{extra}" if extra else instruction
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": output}]


def to_document(obj: Any, source: str, fallback_id: str, text_field: str) -> dict[str, Any]:
    """One input record in any supported shape -> one document."""
    if not isinstance(obj, dict):
        raise InputError(source, "expected a JSON object")
    messages: list[dict[str, str]] | None = None
    if "messages" in obj:
        messages = _messages_openai(obj["messages"], source)
    elif "conversations" in obj:
        messages = _messages_sharegpt(obj["conversations"], source)
    elif "instruction" in obj and "output" in obj:
        messages = _messages_alpaca(obj, source)
    if messages is not None:
        text = "\n".join(m["content"] for m in messages)
    else:
        value = obj.get(text_field)
        if not isinstance(value, str):
            found = ", ".join(sorted(obj)) or "none"
            raise InputError(
                source,
                f"no text: field {text_field!r} is missing or not a string "
                f"(fields: {found}); pass --text-field NAME, or give 'messages'",
            )
        text = value
    skip = CONTENT_FIELDS | {text_field}
    labels = {
        k: str(v)
        for k, v in obj.items()
        if k not in skip and isinstance(v, str | int | bool) and v != ""
    }
    doc_id = obj.get("id")
    return {
        "id": str(doc_id) if doc_id not in (None, "") else fallback_id,
        "text": text,
        "messages": messages,
        "labels": labels,
        "source": source,
        "place_id": fallback_id,
    }


def read_documents(
    path: Path, fmt: str = "auto", text_field: str = "text"
) -> Iterator[dict[str, Any] | InputError]:
    """Documents of one file, in order. A bad record is yielded as an InputError (not
    raised), so the caller decides whether to stop or to skip it and keep count."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "parquet":
        pf = pq.ParquetFile(path)
        row = 0
        for batch in pf.iter_batches(batch_size=2048):
            for obj in batch.to_pylist():
                row += 1
                yield _safe(obj, f"{path}:row {row}", f"{path.name}:{row}", text_field)
        return
    if fmt == "txt":  # a text file is one document
        with open_text(path) as f:
            try:
                text = f.read()
            except UnicodeDecodeError:
                yield InputError(str(path), _NOT_UTF8)
                return
        yield {
            "id": path.name,
            "text": text,
            "messages": None,
            "labels": {},
            "source": str(path),
            "place_id": path.name,
        }
    elif fmt == "csv":
        yield from _read_csv(path, text_field)
    else:
        yield from _read_jsonl(path, text_field)


def _read_csv(path: Path, text_field: str) -> Iterator[dict[str, Any] | InputError]:
    dialect = "excel-tab" if ".tsv" in path.name.lower() else "excel"
    with open_text(path) as f:
        rows = csv.DictReader(f, dialect=dialect)
        row = 1
        while True:
            row += 1
            try:
                obj = next(rows)
            except StopIteration:
                return
            except csv.Error as e:  # the reader goes on with the next record
                fix = (
                    "put documents this long in a JSONL or Parquet file"
                    if "field larger than field limit" in str(e)
                    else "fix the record's quoting"
                )
                yield InputError(f"{path}:{row}", f"invalid CSV: {e}; {fix}")
                continue
            except UnicodeDecodeError:  # the decoder cannot resume: the rest is unread
                yield InputError(f"{path}:{row}", f"{_NOT_UTF8}; the rest of the file is unread")
                return
            yield _safe(obj, f"{path}:{row}", f"{path.name}:{row}", text_field)


# A JSON escape of half a UTF-16 surrogate pair; only such a line can decode to a string that
# is not text (a lone surrogate), which no later step can encode.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _read_jsonl(path: Path, text_field: str) -> Iterator[dict[str, Any] | InputError]:
    # Lines are decoded one by one, so one bad byte rejects its line and not the file.
    with open_bytes(path) as f:
        for line_no, raw in enumerate(f, 1):
            source = f"{path}:{line_no}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield InputError(source, f"byte {e.start + 1}: {_NOT_UTF8}")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield InputError(source, f"invalid JSON at column {e.colno}: {e.msg}")
                continue
            except (ValueError, RecursionError) as e:  # an integer too long, nesting too deep
                yield InputError(source, f"invalid JSON: {str(e).split(';')[0]}")
                continue
            doc = _safe(obj, source, f"{path.name}:{line_no}", text_field)
            if _SURROGATE_ESCAPE.search(line) and isinstance(doc, dict):
                field = _field_not_text(doc)
                if field is not None:
                    doc = InputError(
                        source, f"field {field!r} holds a lone surrogate escape (\\udXXX); fix it"
                    )
            yield doc


def _field_not_text(doc: dict[str, Any]) -> str | None:
    """The first field of a document that is not encodable text, if any."""
    turns = enumerate(doc["messages"] or [])
    strings = [("id", doc["id"]), *((f"messages[{i}].content", m["content"]) for i, m in turns)]
    strings += [("text", doc["text"]), *((k, k) for k in doc["labels"]), *doc["labels"].items()]
    for field, value in strings:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return field
    return None


def _safe(obj: Any, source: str, fallback_id: str, text_field: str) -> dict[str, Any] | InputError:
    try:
        return to_document(obj, source, fallback_id, text_field)
    except InputError as e:
        return e
