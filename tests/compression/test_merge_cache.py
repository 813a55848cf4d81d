"""An adapter is served merged into its base, from a cache directory made once. A merge
interrupted half way is never served: the next start makes it again. The merge itself is
isolated by MergeFake (the real one is tested in tests/training and tests/cli); what is
under test is when the cache is trusted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from modelmint.catalog import ModelRef
from modelmint.cli import models as cli_models
from modelmint.cli.serve import _Loader
from modelmint.compression.merged import COMPLETE, build_once


class MergeFake:
    """Writes what a merge writes (config.json first, then the weights); fails after
    config.json while ``fail`` is set, as a killed or out-of-disk merge would."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    def __call__(self, _rt: object, _ref: ModelRef, out: Path) -> str:
        self.calls += 1
        (out / "config.json").write_text('{"model_type": "gpt2"}')
        if self.fail:
            raise OSError(28, "No space left on device")
        (out / "model.safetensors").write_bytes(b"weights")
        return "causal-lm"


@pytest.fixture
def merge(monkeypatch: pytest.MonkeyPatch) -> MergeFake:
    fake = MergeFake()
    monkeypatch.setattr(cli_models, "merge_into", fake)
    return fake


def _loader(home: Path) -> _Loader:
    runtime = SimpleNamespace(settings=SimpleNamespace(home=home))  # all the merge step reads
    return _Loader(runtime, config=None)


ADAPTER = ModelRef(7, "bot", 1, Path("/nowhere"), "adapter", 10, {}, None, parent_id=3)


def test_an_interrupted_merge_is_made_again(tmp_path: Path, merge: MergeFake) -> None:
    loader = _loader(tmp_path)
    merge.fail = True
    with pytest.raises(OSError, match="No space"):
        loader._servable_path(ADAPTER)
    cache = tmp_path / "cache" / "merged"
    assert list(cache.iterdir()) == []  # nothing that looks like a merge is left

    merge.fail = False
    path = loader._servable_path(ADAPTER)
    assert merge.calls == 2 and path == cache / "7"
    assert (path / "model.safetensors").read_bytes() == b"weights"
    assert loader._servable_path(ADAPTER) == path and merge.calls == 2  # made once


def test_a_half_written_merge_from_before_is_not_served(tmp_path: Path, merge: MergeFake) -> None:
    # what an interrupted merge used to leave: config.json and no weights
    old = tmp_path / "cache" / "merged" / "7"
    old.mkdir(parents=True)
    (old / "config.json").write_text("{}")
    path = _loader(tmp_path)._servable_path(ADAPTER)
    assert merge.calls == 1 and (path / "model.safetensors").exists()
    assert (path / COMPLETE).is_file()


def test_a_killed_makers_work_is_swept_and_a_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dest = tmp_path / "m"
    abandoned = tmp_path / f"m.building-{int(dead.stdout)}-ab12"
    abandoned.mkdir()
    (abandoned / "config.json").write_text("{}")
    live = tmp_path / f"m.building-{os.getppid()}-cd34"  # a maker still running
    live.mkdir()
    build_once(dest, lambda out: (out / "w").write_text("x"))
    assert not abandoned.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m", live.name])


def test_losing_a_race_uses_the_winners_copy(tmp_path: Path) -> None:
    dest = tmp_path / "m"

    def write_while_another_finishes(out: Path) -> None:
        (out / "w").write_text("mine")
        build_once(dest, lambda other: (other / "w").write_text("theirs"))

    assert build_once(dest, write_while_another_finishes) == dest
    assert (dest / "w").read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
