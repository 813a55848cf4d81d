"""Handing a staged directory to the catalog. A dataset, model or evaluation is staged in a
scratch directory by the stage that makes it, then handed over, which moves it into
``artifacts/`` and records it in one step. From that hand-over the staged directory is the
catalog's: registered, or, when registering fails (a bad name, the database), removed with
whatever was moved into ``artifacts/``, so a failure leaves neither a half-registered
version nor an orphaned directory behind."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from modelmint.config.clock import Clock

# Moves the staged directory to a destination in artifacts/; returns where it landed.
Place = Callable[[Path], Path]


def make_staging_dir(artifacts_dir: Path, clock: Clock, kind: str) -> Path:
    """A fresh scratch directory on the same filesystem, so registering is a rename."""
    base = artifacts_dir / "staging"
    base.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        path = base / f"{kind}-{clock().strftime('%Y%m%d%H%M%S')}-{n}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1


@contextmanager
def registering(staged: Path) -> Iterator[Place]:
    """Runs a registration of ``staged``; the body moves it into artifacts/ with the yielded
    function (see `adopt`). If the registration fails, removes ``staged`` and whatever that
    function moved."""
    adopted: list[Path] = []

    def place(dest: Path) -> Path:
        adopted.append(adopt(staged, dest))
        return adopted[-1]

    try:
        yield place
    except BaseException:
        for path in (staged, *adopted):
            shutil.rmtree(path, ignore_errors=True)
        raise


def adopt(staged: Path, dest: Path) -> Path:
    """Moves a staged directory to its place in artifacts/. Nothing there is ever deleted: a
    directory left by a crashed or concurrent registration of the same version keeps its
    content, and this one gets a name of its own beside it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        dest = dest.with_name(f"{dest.name}-{staged.name}")
    staged.rename(dest)
    return dest
