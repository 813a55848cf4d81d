"""Builds a C source shipped with the package into a shared library, once per machine.

The library is compiled for the CPU it runs on (``-march=native``, OpenMP) by the C
compiler Python itself was built with, and cached under ``$XDG_CACHE_HOME/modelmint``
(``~/.cache/modelmint``) by a name that hashes the source, the flags and the CPU's
features: a changed source (or header beside it), or a cache directory shared with another
kind of CPU, builds anew. Where there is no compiler the caller gets None and keeps its
slower path."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shlex
import subprocess
import sysconfig
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FLAGS = ["-O3", "-march=native", "-fPIC", "-shared"]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelmint" / "kernels"


def _cpu_features() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


def _compiler() -> list[str]:
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def load_c_library(source: Path, flags: Sequence[str] = ()) -> ctypes.CDLL | None:
    """The compiled library of ``source``, building it if needed, with ``flags`` after
    :data:`FLAGS`; None if it cannot be built (the reason is logged)."""
    # the headers beside it are part of what it is built from
    text = b"".join(f.read_bytes() for f in [source, *sorted(source.parent.glob("*.h"))])
    flags = [*FLAGS, *flags]
    tag = hashlib.sha256(
        text + " ".join(flags).encode() + _cpu_features().encode() + platform.machine().encode()
    ).hexdigest()[:16]
    target = cache_dir() / f"{source.stem}-{tag}.so"
    if not target.exists():
        try:
            _build(source, target, flags)
        except subprocess.CalledProcessError as e:
            reason = (e.stderr or b"").decode(errors="replace")[-800:]
            log.warning("could not build %s; using the slower path:\n%s", source.name, reason)
            return None
        except OSError as e:  # no compiler at all
            log.warning("could not build %s (%s); using the slower path", source.name, e)
            return None
    try:
        return ctypes.CDLL(str(target))
    except OSError as e:
        log.warning("could not load %s (%s); using the slower path", target, e)
        return None


def _build(source: Path, target: Path, flags: list[str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed into place: two processes building at once
    # (two servers, parallel tests) never load a half-written file.
    fd, partial = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        base = [*_compiler(), *flags, str(source), "-o", partial, "-lm"]
        try:  # without OpenMP the kernel still runs, on one thread
            subprocess.run([*base, "-fopenmp"], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            subprocess.run(base, check=True, capture_output=True)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def load_kernels(source: Path, names: Iterable[str], argtypes: list[Any]) -> ctypes.CDLL | None:
    """:func:`load_c_library`, with each of ``names`` declared as taking ``argtypes`` and
    returning nothing (a kernel writes its output through a pointer)."""
    lib = load_c_library(source)
    if lib is not None:
        for name in names:
            fn = getattr(lib, name)
            fn.restype = None
            fn.argtypes = argtypes
    return lib
