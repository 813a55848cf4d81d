import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from modelmint.data.readers import InputError, expand_paths, read_documents


def _docs(path: Path, **kw) -> list:
    return list(read_documents(path, **kw))


def test_chat_shapes_normalize_to_one_schema(tmp_path: Path) -> None:
    rows = [
        {
            "id": "a",
            "intent": "refund",
            "messages": [
                {"role": "user", "content": "我要退款"},
                {"role": "assistant", "content": "好的"},
            ],
        },
        {
            "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}],
            "label": "greeting",
        },
        {"instruction": "Translate", "input": "你好", "output": "Hello", "category": "mt"},
    ]
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    a, b, c = _docs(path)
    assert a["id"] == "a" and a["labels"] == {"intent": "refund"}
    assert a["text"] == "我要退款\n好的" and a["messages"][1]["role"] == "assistant"
    assert b["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    assert b["labels"] == {"label": "greeting"} and b["id"] == "chat.jsonl:2"
    assert c["messages"][0]["content"] == "Translate\n\n你好" and c["labels"] == {"category": "mt"}
    assert a["source"] == f"{path}:1"


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_compressed_jsonl(tmp_path: Path, suffix: str) -> None:
    data = "\n".join(json.dumps({"body": f"文本 {i}"}, ensure_ascii=False) for i in range(3))
    path = tmp_path / f"x.jsonl{suffix}"
    raw = data.encode()
    if suffix == ".gz":
        raw = gzip.compress(raw)
    elif suffix == ".zst":
        raw = zstandard.ZstdCompressor().compress(raw)
    path.write_bytes(raw)
    assert [d["text"] for d in _docs(path, text_field="body")] == ["文本 0", "文本 1", "文本 2"]


def test_csv_parquet_and_txt(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text('text,sentiment\n很好,positive\n"bad, really",negative\n')
    docs = _docs(tmp_path / "t.csv")
    assert [d["text"] for d in docs] == ["很好", "bad, really"]
    assert docs[1]["labels"] == {"sentiment": "negative"} and docs[1]["source"].endswith(":3")
    pq.write_table(pa.Table.from_pylist([{"text": "p1", "lang": "en"}]), tmp_path / "t.parquet")
    assert _docs(tmp_path / "t.parquet")[0]["labels"] == {"lang": "en"}
    (tmp_path / "doc.txt").write_text("整篇文档。\n第二行。")
    assert _docs(tmp_path / "doc.txt")[0]["text"] == "整篇文档。\n第二行。"


def test_bad_records_are_errors_naming_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"text": "ok"}\n{"text": \n{"content": "x"}\n'
        '{"messages": [{"role": "bot", "content": "x"}]}\n'
    )
    ok, broken, missing, role = _docs(path)
    assert ok["text"] == "ok"
    assert isinstance(broken, InputError) and f"{path}:2" in str(broken) and "JSON" in str(broken)
    assert (
        isinstance(missing, InputError)
        and "'text'" in str(missing)
        and "--text-field" in str(missing)
    )
    assert isinstance(role, InputError) and "messages[0].role" in str(role)


def test_paths_dirs_and_globs(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for p in ["d/a.jsonl", "d/sub/b.jsonl", "d/.hidden.jsonl", "c.csv"]:
        (tmp_path / p).write_text("")
    assert [p.name for p in expand_paths([tmp_path / "d"])] == ["a.jsonl", "b.jsonl"]
    assert [p.name for p in expand_paths([str(tmp_path / "*.csv")])] == ["c.csv"]
    with pytest.raises(InputError, match="no such file"):
        expand_paths([tmp_path / "nothing*.jsonl"])


def test_records_that_crashed_the_reader_are_errors_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(
        b'{"text": "ok"}\n'
        b'{"text": "x", "n": ' + b"1" * 5000 + b"}\n"  # beyond int()'s digit limit
        b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
        b'{"text": "caf\xe9"}\n'  # Latin-1, not UTF-8
        b'{"text": "half a pair \\ud800"}\n'
        b'{"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}\n'
        b'{"text": "still read"}\n'
    )
    ok, digits, nested, latin1, surrogate, parts, last = _docs(path)
    assert ok["text"] == "ok" and last["text"] == "still read"
    for line, error in enumerate((digits, nested, latin1, surrogate, parts), 2):
        assert isinstance(error, InputError) and error.source == f"{path}:{line}", error
    assert "invalid JSON" in str(digits) and "invalid JSON" in str(nested)
    assert "not UTF-8" in str(latin1) and "'text'" in str(surrogate)
    assert "messages[0].content[].text" in str(parts)


def test_csv_field_over_the_limit_is_an_error_and_the_next_row_is_read(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(f"text,intent\n{'x' * 200_000},a\nshort,b\n", encoding="utf-8")
    long, short = _docs(path)
    assert isinstance(long, InputError) and long.source == f"{path}:2"
    assert "JSONL or Parquet" in str(long)
    assert short["text"] == "short" and short["labels"] == {"intent": "b"}
