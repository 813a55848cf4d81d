"""Finding duplicates among more documents than fit in memory.

Documents are added in order with their id, exact key and MinHash signature; everything per
document goes to files in a work directory, never to a Python object. :meth:`DuplicateFinder.
resolve` then decides, with sorts of fixed-size records split into hash partitions that each
fit ``memory_mb``:

1. exact: sort (key, index); a document whose key was seen before is a copy of the first;
2. near, among the first documents of each key: every LSH band of every signature becomes a
   (band hash, index) record; sorting them puts the documents that share a band next to
   each other, and each is paired with the ``window`` before it in that band;
3. in document order, a document's candidates are the kept documents those pairs lead to
   (the kept document a dropped partner went to), and it is dropped for the most similar
   one (earliest on ties) whose estimated Jaccard passes the threshold;
4. an exact copy goes wherever its first went.

So the rule is the streaming one: the first of a set of duplicates is kept, a document is
dropped only as a duplicate of a kept one, and clusters are stars around a kept document
that a chain A~B~C cannot stretch. The window is the one approximation: a document sees, per
band, the kept documents of its ``window`` predecessors in that band rather than every kept
document there, which on the sample corpus and the 200 MiB benchmark finds the same
duplicates (``benchmarks/dedup_recall.py``).

Memory: the sort partitions (``memory_mb``), a signature per candidate pair being checked,
and two small arrays per document (root, kind: 9 bytes) that are memory-mapped files, so
the operating system pages them out when it must. Disk: 16 + 4 x num_perm + 13 bytes and
the id per document, plus the partitions while resolving."""

from __future__ import annotations

import itertools
import math
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelmint.data.dedup import (
    EXACT,
    NEAR,
    NearDupConfig,
    lsh_bands,
    normalize_text,
    normalized_key,
    normalized_signature,
)

KEPT_CODE, EXACT_CODE, NEAR_CODE = 0, 1, 2
REASONS = {EXACT_CODE: EXACT, NEAR_CODE: NEAR}
_CHUNK = 1 << 13  # documents per block when streaming the per-document files


def _partitions(records: int, record_bytes: int, memory_mb: float) -> int:
    """Power of two, so the top bits of a uniform hash pick the partition."""
    need = records * record_bytes / (memory_mb * (1 << 20))
    return 1 << max(0, math.ceil(math.log2(max(need, 1.0))))


def band_hashes(sigs: np.ndarray, bands: int) -> np.ndarray:
    """(documents, bands) 64-bit hashes, one per LSH band of each signature; the band's
    number is mixed in, so equal hashes mean the same band of two signatures agree."""
    rows = sigs.shape[1] // bands
    parts = sigs.astype(np.uint64).reshape(len(sigs), bands, rows)
    h = np.broadcast_to(
        (np.arange(bands, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15),
        (len(sigs), bands),
    ).copy()
    for r in range(rows):  # FNV-style: xor a 32-bit row in, multiply by a 64-bit prime
        h ^= parts[:, :, r]
        h *= np.uint64(0x100000001B3)
        h ^= h >> np.uint64(29)
    return h


class _Spill:
    """Fixed-size records appended to one file per hash partition."""

    def __init__(self, directory: Path, name: str, parts: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.paths = [directory / f"{name}-{p:05d}.bin" for p in range(parts)]
        self.files = [p.open("wb") for p in self.paths]
        self.shift = np.uint64(64 - max(1, int(math.log2(parts)))) if parts > 1 else None

    def write(self, by: np.ndarray, records: np.ndarray) -> None:
        """Records go to the partition named by the top bits of ``by`` (uint64)."""
        if self.shift is None:
            self.files[0].write(records.tobytes())
            return
        part = (by >> self.shift).astype(np.int64)
        order = np.argsort(part, kind="stable")  # stable: index order kept per partition
        part, records = part[order], records[order]
        bounds = np.searchsorted(part, np.arange(len(self.files) + 1))
        for p, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            if hi > lo:
                self.files[p].write(records[lo:hi].tobytes())

    def read(self, dtype: np.dtype) -> Iterator[np.ndarray]:
        for f in self.files:
            f.close()
        for path in self.paths:
            yield np.fromfile(path, dtype=dtype)
            path.unlink()


_KEY = np.dtype([("hi", "<u8"), ("lo", "<u8"), ("i", "<i8")])
_BAND = np.dtype([("h", "<u8"), ("i", "<i8")])
_EDGE = np.dtype([("later", "<i8"), ("earlier", "<i8")])


@dataclass(frozen=True)
class ClusterSummary:
    count: int  # clusters of two or more documents
    sizes: dict[int, int]  # cluster size -> number of clusters
    largest: list[list[str]]  # ids, kept one first, largest clusters first


class Duplicates:
    """The decision for every added document: kept, or a duplicate of which kept one."""

    def __init__(self, directory: Path, n: int, ids: _IdFile) -> None:
        self.n, self._ids = n, ids
        self.root = _array(directory / "root.i64", np.int64, n)
        self.kind = _array(directory / "kind.u8", np.uint8, n)

    def decisions(self, start: int, stop: int) -> Iterator[tuple[str, str] | None]:
        """None for a kept document, else (reason, kept id), for documents start..stop-1."""
        kinds, roots = self.kind[start:stop], self.root[start:stop]
        for k, r in zip(kinds.tolist(), roots.tolist(), strict=True):
            yield None if k == KEPT_CODE else (REASONS[k], self._ids.get(r))

    def all_decisions(self) -> list[tuple[str, str] | None]:
        return [d for s in range(0, self.n, _CHUNK) for d in self.decisions(s, s + _CHUNK)]

    def clusters(self, largest: int = 20, max_members: int = 50) -> ClusterSummary:
        """Cluster sizes counted over chunks of the root array; members of the ``largest``
        clusters (at most ``max_members`` ids each) found by one more scan."""
        counts: Counter[int] = Counter()
        for s in range(0, self.n, _CHUNK):
            roots = np.asarray(self.root[s : s + _CHUNK])
            dropped = roots[roots != np.arange(s, s + len(roots))]
            values, c = np.unique(dropped, return_counts=True)
            counts.update(dict(zip(values.tolist(), c.tolist(), strict=True)))
        sizes = Counter(c + 1 for c in counts.values())
        top = [r for r, _ in counts.most_common(largest)]
        members: dict[int, list[str]] = {r: [self._ids.get(r)] for r in top}
        wanted = np.array(top, dtype=np.int64)
        for s in range(0, self.n, _CHUNK):
            roots = np.asarray(self.root[s : s + _CHUNK])
            for pos in np.flatnonzero(np.isin(roots, wanted)).tolist():
                i, r = s + pos, int(roots[pos])
                if i != r and len(members[r]) < max_members:
                    members[r].append(self._ids.get(i))
        return ClusterSummary(len(counts), dict(sorted(sizes.items())), [members[r] for r in top])

    def close(self) -> None:
        self._ids.close()


def _array(path: Path, dtype: type, n: int) -> np.memmap:
    return np.memmap(path, dtype=dtype, mode="r+" if path.exists() else "w+", shape=(max(n, 1),))


class _IdFile:
    """Document ids by index: UTF-8 bytes in one file, end offsets in another."""

    def __init__(self, directory: Path) -> None:
        self.data_path, self.ends_path = directory / "ids.bin", directory / "id_ends.u64"
        self.data, self.ends = self.data_path.open("wb"), self.ends_path.open("wb")
        self.offset = 0
        self._fd: int | None = None

    def append(self, ids: list[str]) -> None:
        blobs = [i.encode("utf-8") for i in ids]
        ends = self.offset + np.cumsum([len(b) for b in blobs], dtype=np.uint64)
        self.data.write(b"".join(blobs))
        self.ends.write(ends.tobytes())
        self.offset = int(ends[-1]) if len(ends) else self.offset

    def get(self, i: int) -> str:
        if self._fd is None:
            self.data.close()
            self.ends.close()
            self._fd = os.open(self.data_path, os.O_RDONLY)
            self._ends_fd = os.open(self.ends_path, os.O_RDONLY)
        if i == 0:
            start, end = 0, int.from_bytes(os.pread(self._ends_fd, 8, 0), "little")
        else:
            pair = np.frombuffer(os.pread(self._ends_fd, 16, (i - 1) * 8), dtype="<u8")
            start, end = int(pair[0]), int(pair[1])
        return os.pread(self._fd, end - start, start).decode("utf-8")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            os.close(self._ends_fd)
        else:
            self.data.close()
            self.ends.close()


class DuplicateFinder:
    """Collects (id, exact key, signature) per document on disk; :meth:`resolve` decides."""

    def __init__(
        self,
        directory: Path,
        near: NearDupConfig | None = NearDupConfig(),
        exact: bool = True,
        memory_mb: float = 256,
        window: int = 8,
    ) -> None:
        self.dir, self.near, self.exact = directory, near, exact
        self.memory_mb, self.window = memory_mb, window
        directory.mkdir(parents=True, exist_ok=True)
        self.n = 0
        self._ids = _IdFile(directory)
        self._keys = (directory / "keys.bin").open("wb")
        self._sigs = (directory / "sigs.u32").open("wb")
        self._signed = (directory / "signed.u8").open("wb")
        self._width = near.num_perm if near else 0

    def add(self, ids: list[str], keys: list[bytes], sigs: list[np.ndarray | None]) -> None:
        """A block of documents, in order. A None signature leaves that document out of the
        near-duplicate check (it can still be an exact copy)."""
        self._ids.append(ids)
        self._keys.write(b"".join(keys))
        if self.near is not None:
            blank = np.zeros(self._width, dtype=np.uint32)
            self._sigs.write(b"".join((blank if s is None else s).tobytes() for s in sigs))
            self._signed.write(bytes(s is not None for s in sigs))
        self.n += len(ids)

    # resolving ------------------------------------------------------------------------------
    def resolve(self) -> Duplicates:
        for fh in (self._keys, self._sigs, self._signed):
            fh.close()
        n = self.n
        dups = Duplicates(self.dir, n, self._ids)
        first = self._exact_firsts() if self.exact else None
        for s in range(0, n, _CHUNK):  # everyone starts kept, their own root
            dups.root[s : s + _CHUNK] = np.arange(s, min(n, s + _CHUNK))
            dups.kind[s : s + _CHUNK] = KEPT_CODE
        if self.near is not None and n:
            self._near(dups, first)
        if first is not None:
            for s in range(0, n, _CHUNK):  # a copy goes where its first went
                f = np.asarray(first[s : s + _CHUNK])
                copies = np.flatnonzero(f != np.arange(s, s + len(f)))
                if len(copies):
                    roots = np.asarray(dups.root[f[copies]])
                    dups.root[s + copies] = roots
                    dups.kind[s + copies] = np.where(roots == f[copies], EXACT_CODE, NEAR_CODE)
        dups.root.flush()
        dups.kind.flush()
        return dups

    def _exact_firsts(self) -> np.memmap:
        """first[i]: index of the first document with i's exact key (i itself if none)."""
        n = self.n
        first = _array(self.dir / "first.i64", np.int64, n)
        spill = _Spill(self.dir / "sort", "keys", _partitions(n, _KEY.itemsize, self.memory_mb))
        with (self.dir / "keys.bin").open("rb") as f:
            for s in range(0, n, _CHUNK):
                raw = np.frombuffer(f.read(16 * _CHUNK), dtype=">u8").reshape(-1, 2)
                rec = np.empty(len(raw), dtype=_KEY)
                rec["hi"], rec["lo"] = raw[:, 0], raw[:, 1]
                rec["i"] = np.arange(s, s + len(raw))
                spill.write(rec["hi"], rec)
        for part in spill.read(_KEY):
            part = part[np.lexsort((part["i"], part["lo"], part["hi"]))]
            new = np.ones(len(part), dtype=bool)
            new[1:] = (part["hi"][1:] != part["hi"][:-1]) | (part["lo"][1:] != part["lo"][:-1])
            run_start = np.maximum.accumulate(np.where(new, np.arange(len(part)), 0))
            first[part["i"]] = part["i"][run_start]
        return first

    def _near(self, dups: Duplicates, first: np.memmap | None) -> None:
        assert self.near is not None
        n, config, width = self.n, self.near, self._width
        bands = lsh_bands(config)[0]
        parts = _partitions(n * bands, _BAND.itemsize, self.memory_mb)
        spill = _Spill(self.dir / "sort", "bands", parts)
        with (self.dir / "sigs.u32").open("rb") as fs, (self.dir / "signed.u8").open("rb") as fk:
            for s in range(0, n, _CHUNK):
                sigs = np.frombuffer(fs.read(4 * width * _CHUNK), np.uint32).reshape(-1, width)
                ok = np.frombuffer(fk.read(_CHUNK), np.uint8).astype(bool)
                idx = np.arange(s, s + len(sigs))
                if first is not None:
                    ok &= np.asarray(first[s : s + len(sigs)]) == idx
                h = band_hashes(sigs[ok], bands)
                rec = np.empty(h.size, dtype=_BAND)
                rec["h"], rec["i"] = h.ravel(), np.repeat(idx[ok], bands)
                spill.write(rec["h"], rec)
        # Pairs go to files by the later document's index range, so step 3 reads them in order.
        ranges = max(1, parts)
        span = math.ceil(n / ranges)
        edge_files = [(self.dir / "sort" / f"pairs-{r:05d}.bin").open("wb") for r in range(ranges)]
        for part in spill.read(_BAND):
            part = part[np.argsort(part["h"], kind="stable")]  # index order kept within a hash
            for w in range(1, self.window + 1):
                same = part["h"][w:] == part["h"][:-w]
                if not same.any():
                    break  # no run of w+1 equal hashes, so none longer either
                pair = np.empty(int(same.sum()), dtype=_EDGE)
                pair["later"], pair["earlier"] = part["i"][w:][same], part["i"][:-w][same]
                which = pair["later"] // span
                for r in np.unique(which).tolist():
                    edge_files[r].write(pair[which == r].tobytes())
        for f in edge_files:
            f.close()
        self._verify_in_order(dups, ranges, span)

    def _verify_in_order(self, dups: Duplicates, ranges: int, span: int) -> None:
        assert self.near is not None
        width, threshold, verify = self._width, self.near.threshold, self.near.verify
        fd = os.open(self.dir / "sigs.u32", os.O_RDONLY)
        row = 4 * width

        def sig(i: int) -> np.ndarray:
            return np.frombuffer(os.pread(fd, row, i * row), dtype=np.uint32)

        try:
            for r in range(ranges):
                path = self.dir / "sort" / f"pairs-{r:05d}.bin"
                pairs = np.fromfile(path, dtype=_EDGE)
                path.unlink()
                if not len(pairs):
                    continue
                pairs = np.unique(pairs)  # sorted by (later, earlier); a pair from many bands once
                starts = np.flatnonzero(np.r_[True, pairs["later"][1:] != pairs["later"][:-1]])
                ends = np.r_[starts[1:], len(pairs)]
                for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
                    i = int(pairs["later"][a])
                    candidates = np.unique(dups.root[pairs["earlier"][a:b]])
                    mine = sig(i)
                    sims = [float(np.mean(mine == sig(c))) for c in candidates.tolist()]
                    best = int(np.argmax(sims))  # the first maximum: earliest on ties
                    if not verify or sims[best] >= threshold:
                        dups.root[i] = candidates[best]
                        dups.kind[i] = NEAR_CODE
        finally:
            os.close(fd)
        shutil.rmtree(self.dir / "sort", ignore_errors=True)


def find_duplicates(
    items: Iterable[tuple[str, str]],
    near: NearDupConfig | None = NearDupConfig(),
    exact: bool = True,
    directory: Path | None = None,
    memory_mb: float = 256,
) -> list[tuple[str, str] | None]:
    """(id, text) pairs -> None (keep) or (reason, kept id) each, in one process; for tests,
    benchmarks and small inputs. Curation computes keys and signatures in its workers."""
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        finder = DuplicateFinder(Path(tmp), near, exact, memory_mb)
        block: list[tuple[str, str]] = []
        for item in items:
            block.append(item)
            if len(block) == 4096:
                _add_texts(finder, block)
                block = []
        _add_texts(finder, block)
        dups = finder.resolve()
        try:
            return dups.all_decisions()
        finally:
            dups.close()


def _add_texts(finder: DuplicateFinder, block: list[tuple[str, str]]) -> None:
    if not block:
        return
    normalized = [normalize_text(t) for _, t in block]
    sigs: list[np.ndarray | None] = (
        [normalized_signature(t, finder.near) for t in normalized]
        if finder.near
        else [None] * len(block)
    )
    keys = [normalized_key(t) for t in normalized]
    finder.add([i for i, _ in block], keys, sigs)
