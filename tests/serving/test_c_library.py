"""Building a packaged C source once per machine, and doing without a compiler."""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

import pytest

from modelmint.serving.kernels import cache_dir, load_c_library


def test_builds_once_then_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "add.c"
    source.write_text("long add(long a, long b) { return a + b; }\n")
    lib = load_c_library(source)
    assert lib is not None
    lib.add.restype, lib.add.argtypes = ctypes.c_long, [ctypes.c_long, ctypes.c_long]
    assert lib.add(40, 2) == 42
    (built,) = cache_dir().glob("add-*.so")
    stamp = built.stat().st_mtime_ns
    assert load_c_library(source) is not None and built.stat().st_mtime_ns == stamp
    source.write_text("long add(long a, long b) { return a + b + 1; }\n")  # changed: rebuilt
    assert load_c_library(source) is not None and len(list(cache_dir().glob("add-*.so"))) == 2


def test_a_changed_header_beside_the_source_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "step.h").write_text("#define STEP 1\n")
    source = tmp_path / "inc.c"
    source.write_text('#include "step.h"\nlong inc(long a) { return a + STEP; }\n')
    results = []
    for step in (1, 5):
        (tmp_path / "step.h").write_text(f"#define STEP {step}\n")
        lib = load_c_library(source)
        assert lib is not None
        lib.inc.restype, lib.inc.argtypes = ctypes.c_long, [ctypes.c_long]
        results.append(lib.inc(10))
    assert results == [11, 15]


def test_no_compiler_gives_none_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    source = tmp_path / "add.c"
    source.write_text("long add(long a, long b) { return a + b; }\n")
    with caplog.at_level(logging.WARNING):
        assert load_c_library(source) is None
    assert "could not build add.c" in caplog.text
    assert not list(cache_dir().glob("*.so")), "nothing half-built is left to load"


def test_a_compile_error_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "broken.c"
    source.write_text("long add(long a, long b) { return a + ; }\n")
    with caplog.at_level(logging.WARNING):
        assert load_c_library(source) is None
    assert "broken.c" in caplog.text and "error" in caplog.text
