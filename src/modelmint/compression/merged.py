"""A model directory made once and then reused, such as an adapter folded into its base for
serving (``~/.mint/cache/merged/<version id>``). It is written in a directory of its own
beside the destination, marked complete, flushed to disk and only then renamed into place:
a merge that is interrupted (killed, out of disk, a crash) never leaves a directory that
looks finished, so it is never served half-written and is made again on the next start.

A destination without the completion marker (one a merge before this scheme left, whole
or not) is not trusted: it is made again."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

COMPLETE = ".modelmint-complete"  # written last, inside the directory, before the rename
_BUILDING = ".building-"  # <dest name>.building-<pid>-<random>: a directory being written
_in_flight: set[Path] = set()  # this process's work directories still being written


def is_complete(path: Path) -> bool:
    return (path / COMPLETE).is_file()


def build_once(dest: Path, write: Callable[[Path], object]) -> Path:
    """``dest``, made by ``write(directory)`` unless a complete one is already there.
    Several processes may race to make the same ``dest``: each writes its own copy, the
    first rename wins and the others discard theirs."""
    if is_complete(dest):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned(dest)
    work = dest.with_name(f"{dest.name}{_BUILDING}{os.getpid()}-{secrets.token_hex(4)}")
    work.mkdir()
    _in_flight.add(work)
    try:
        write(work)
        _flush_tree(work)
        marker = work / COMPLETE
        marker.write_text("complete\n")
        _fsync(marker)
        _fsync(work)
        if dest.exists() and not is_complete(dest):
            shutil.rmtree(dest)  # incomplete (an older scheme's, or a crash's): never used
        try:
            work.rename(dest)
        except OSError:
            if not is_complete(dest):  # not lost to a concurrent maker: a real failure
                raise
            shutil.rmtree(work, ignore_errors=True)
            return dest
        _fsync(dest.parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        _in_flight.discard(work)
    return dest


def _sweep_abandoned(dest: Path) -> None:
    """Removes the work directories of makers of ``dest`` that died (killed mid-write)."""
    for path in dest.parent.glob(f"{dest.name}{_BUILDING}*"):
        pid_text = path.name.removeprefix(f"{dest.name}{_BUILDING}").split("-", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text), path):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int, work: Path) -> bool:
    if pid == os.getpid():  # ours, or a killed predecessor's that had the same pid
        return work in _in_flight
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _flush_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            _fsync(path)
    for path in root.rglob("*"):
        if path.is_dir():
            _fsync(path)


def _fsync(path: Path) -> None:
    # the rename must not reach the disk before the files it publishes
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
