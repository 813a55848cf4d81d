"""Finding duplicates among more documents than fit in memory.

Documents are added in order with their id, exact key and MinHash signature
(:class:`DuplicateInputs`, one directory per curation shard); everything per document goes
to files, never to a Python object. :meth:`DuplicateFinder.resolve` reads the directories in
order as one sequence and decides, with sorts of fixed-size records split into hash
partitions that each fit ``memory_mb``; each partition's sort is a task of its own
(:func:`sort_exact_partition`, :func:`pair_partition`) for an executor to run anywhere:

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

import bisect
import itertools
import math
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
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
from modelmint.data.executors import Executor, LocalExecutor
from modelmint.observability import ProgressEvent, ProgressFn, no_progress

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

    def close(self) -> None:
        for f in self.files:
            f.close()


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

    def __init__(self, directory: Path, n: int, ids: _IdReader) -> None:
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


class _IdWriter:
    """Document ids in order: UTF-8 bytes in one file, end offsets in another."""

    def __init__(self, directory: Path) -> None:
        self.data = (directory / "ids.bin").open("wb")
        self.ends = (directory / "id_ends.u64").open("wb")
        self.offset = 0

    def append(self, ids: list[str]) -> None:
        blobs = [i.encode("utf-8") for i in ids]
        ends = self.offset + np.cumsum([len(b) for b in blobs], dtype=np.uint64)
        self.data.write(b"".join(blobs))
        self.ends.write(ends.tobytes())
        self.offset = int(ends[-1]) if len(ends) else self.offset

    def close(self) -> None:
        self.data.close()
        self.ends.close()


class _Stacked:
    """One file of fixed-size records in each input directory, read as one array: index i
    of the whole is record i - start of the file it falls in."""

    def __init__(self, directories: Sequence[Path], name: str, record_bytes: int) -> None:
        self.paths = [d / name for d in directories]
        self.record_bytes = record_bytes
        counts = [p.stat().st_size // record_bytes if record_bytes else 0 for p in self.paths]
        # a list, not an array: bisect on it is the cheaper lookup, made per candidate pair
        self.starts = [0, *itertools.accumulate(counts)]
        self._fds: list[int] | None = None

    def __len__(self) -> int:
        return self.starts[-1]

    def blocks(self, records: int) -> Iterator[tuple[int, bytes]]:
        """(index of the first record, bytes) in order, at most ``records`` at a time."""
        for path, start in zip(self.paths, self.starts, strict=False):
            with path.open("rb") as f:
                while raw := f.read(records * self.record_bytes):
                    yield start, raw
                    start += len(raw) // self.record_bytes

    def locate(self, i: int) -> tuple[int, int]:
        """(file, record within it) of record i of the whole."""
        f = bisect.bisect_right(self.starts, i) - 1
        return f, i - self.starts[f]

    def pread(self, i: int, count: int = 1) -> bytes:
        """``count`` records from record i, all within i's file."""
        if self._fds is None:
            self._fds = [os.open(p, os.O_RDONLY) for p in self.paths]
        f, j = self.locate(i)
        return os.pread(self._fds[f], count * self.record_bytes, j * self.record_bytes)

    def close(self) -> None:
        for fd in self._fds or []:
            os.close(fd)
        self._fds = None


class _IdReader:
    """Document ids by index across the input directories' id files."""

    def __init__(self, directories: Sequence[Path]) -> None:
        self.ends = _Stacked(directories, "id_ends.u64", 8)
        self.data = _Stacked(directories, "ids.bin", 1)

    def get(self, i: int) -> str:
        f, j = self.ends.locate(i)
        if j == 0:
            start, end = 0, int.from_bytes(self.ends.pread(i), "little")
        else:
            pair = np.frombuffer(self.ends.pread(i - 1, 2), dtype="<u8")
            start, end = int(pair[0]), int(pair[1])
        data_start = self.data.starts[f]  # where this file's ids begin in the whole
        return self.data.pread(data_start + start, end - start).decode("utf-8")

    def close(self) -> None:
        self.ends.close()
        self.data.close()


class DuplicateInputs:
    """What the finder needs of each document, written in order to files in one directory:
    id, exact key and signature. Each curation shard writes its own; :class:`DuplicateFinder`
    reads them all, in shard order, as one sequence."""

    def __init__(self, directory: Path, near: NearDupConfig | None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.near, self.n = near, 0
        self._ids = _IdWriter(directory)
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

    def close(self) -> None:
        for fh in (self._ids, self._keys, self._sigs, self._signed):
            fh.close()


class DuplicateFinder:
    """Decides duplicates among the documents of one or more :class:`DuplicateInputs`
    directories, taken in the order given."""

    def __init__(
        self,
        directory: Path,
        inputs: Sequence[Path],
        near: NearDupConfig | None = NearDupConfig(),
        exact: bool = True,
        memory_mb: float = 256,
        window: int = 8,
    ) -> None:
        self.dir, self.near, self.exact = directory, near, exact
        self.memory_mb, self.window = memory_mb, window
        directory.mkdir(parents=True, exist_ok=True)
        self._width = near.num_perm if near else 0
        self._ids = _IdReader(inputs)
        self._keys = _Stacked(inputs, "keys.bin", 16)
        self._sigs = _Stacked(inputs, "sigs.u32", 4 * self._width)
        self._signed = _Stacked(inputs, "signed.u8", 1)
        self.n = len(self._ids.ends)

    # resolving ------------------------------------------------------------------------------
    def resolve(
        self, executor: Executor | None = None, progress: ProgressFn = no_progress
    ) -> Duplicates:
        """Every document's decision. The sorts of the hash partitions are tasks of their
        own, run by ``executor`` (here, in this process, by default); spreading them into
        partitions and the final in-order pass run here. ``progress`` hears of each step
        (``dedup: ...``) as it goes."""
        tasks: Executor = executor or LocalExecutor()
        n = self.n
        dups = Duplicates(self.dir, n, self._ids)
        first = self._exact_firsts(tasks, progress) if self.exact else None
        for s in range(0, n, _CHUNK):  # everyone starts kept, their own root
            dups.root[s : s + _CHUNK] = np.arange(s, min(n, s + _CHUNK))
            dups.kind[s : s + _CHUNK] = KEPT_CODE
        if self.near is not None and n:
            self._near(dups, first, tasks, progress)
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
        for stacked in (self._keys, self._sigs, self._signed):
            stacked.close()
        shutil.rmtree(self.dir / "sort", ignore_errors=True)
        return dups

    def _exact_firsts(self, tasks: Executor, progress: ProgressFn) -> np.memmap:
        """first[i]: index of the first document with i's exact key (i itself if none)."""
        n = self.n
        first = _array(self.dir / "first.i64", np.int64, n)
        for s in range(0, n, _CHUNK):  # each its own first until a partition says otherwise
            first[s : s + _CHUNK] = np.arange(s, min(n, s + _CHUNK))
        spill = _Spill(self.dir / "sort", "keys", _partitions(n, _KEY.itemsize, self.memory_mb))
        for s, block in self._keys.blocks(_CHUNK):
            raw = np.frombuffer(block, dtype=">u8").reshape(-1, 2)
            rec = np.empty(len(raw), dtype=_KEY)
            rec["hi"], rec["lo"] = raw[:, 0], raw[:, 1]
            rec["i"] = np.arange(s, s + len(raw))
            spill.write(rec["hi"], rec)
            progress(ProgressEvent("dedup: exact keys spread", s + len(raw), n))
        spill.close()
        parts = len(spill.paths)
        done = tasks.map(sort_exact_partition, [str(p) for p in spill.paths])
        for p, out in enumerate(done, 1):
            copies = np.fromfile(out, dtype=_EDGE)
            first[copies["later"]] = copies["earlier"]
            progress(ProgressEvent("dedup: exact key sorts", p, parts))
        return first

    def _near(
        self, dups: Duplicates, first: np.memmap | None, tasks: Executor, progress: ProgressFn
    ) -> None:
        assert self.near is not None
        n, config, width = self.n, self.near, self._width
        bands = lsh_bands(config)[0]
        parts = _partitions(n * bands, _BAND.itemsize, self.memory_mb)
        spill = _Spill(self.dir / "sort", "bands", parts)
        blocks = zip(self._sigs.blocks(_CHUNK), self._signed.blocks(_CHUNK), strict=True)
        for (s, sig_block), (_, signed_block) in blocks:
            sigs = np.frombuffer(sig_block, np.uint32).reshape(-1, width)
            ok = np.frombuffer(signed_block, np.uint8).astype(bool)
            idx = np.arange(s, s + len(sigs))
            if first is not None:
                ok &= np.asarray(first[s : s + len(sigs)]) == idx
            h = band_hashes(sigs[ok], bands)
            rec = np.empty(h.size, dtype=_BAND)
            rec["h"], rec["i"] = h.ravel(), np.repeat(idx[ok], bands)
            spill.write(rec["h"], rec)
            progress(ProgressEvent("dedup: band hashes spread", s + len(sigs), n))
        spill.close()
        # Pairs go to files by the later document's index range, so step 3 reads them in order.
        ranges = max(1, parts)
        span = math.ceil(n / ranges)
        work = [PairTask(str(p), self.window, span, ranges) for p in spill.paths]
        outputs = []
        for p, out in enumerate(tasks.map(pair_partition, work), 1):
            outputs.append(out)
            progress(ProgressEvent("dedup: band sorts", p, len(work)))
        self._verify_in_order(dups, ranges, outputs, progress)

    def _verify_in_order(
        self, dups: Duplicates, ranges: int, outputs: list[list[str]], progress: ProgressFn
    ) -> None:
        assert self.near is not None
        threshold, verify = self.near.threshold, self.near.verify

        def sig(i: int) -> np.ndarray:
            return np.frombuffer(self._sigs.pread(i), dtype=np.uint32)

        for r in range(ranges):
            progress(ProgressEvent("dedup: in-order pass", r, ranges))
            found = [np.fromfile(out[r], dtype=_EDGE) for out in outputs]
            pairs = np.concatenate(found) if found else np.empty(0, dtype=_EDGE)
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


# the partition tasks: top-level functions of paths, so any executor can run them ----------
def sort_exact_partition(path: str) -> str:
    """One partition of (key, index) records -> (later, earlier) pairs: each document whose
    key an earlier document of the partition has, with that first document."""
    part = np.fromfile(path, dtype=_KEY)
    part = part[np.lexsort((part["i"], part["lo"], part["hi"]))]
    new = np.ones(len(part), dtype=bool)
    new[1:] = (part["hi"][1:] != part["hi"][:-1]) | (part["lo"][1:] != part["lo"][:-1])
    run_start = np.maximum.accumulate(np.where(new, np.arange(len(part)), 0))
    copies = np.flatnonzero(~new)
    out = np.empty(len(copies), dtype=_EDGE)
    out["later"], out["earlier"] = part["i"][copies], part["i"][run_start[copies]]
    target = Path(path).with_suffix(".copies")
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    out.tofile(tmp)
    os.replace(tmp, target)  # a killed task leaves no output; a rerun writes the same bytes
    return str(target)


@dataclass(frozen=True)
class PairTask:
    path: str  # a partition of (band hash, index) records
    window: int
    span: int  # documents per range of the later index
    ranges: int


def pair_partition(task: PairTask) -> list[str]:
    """One partition of band records -> per range of the later document's index, a file of
    (later, earlier) pairs: documents sharing a band, each with the ``window`` before it.
    The files are written under temporary names and renamed at the end, so a task killed
    midway leaves nothing its rerun would add to."""
    part = np.fromfile(task.path, dtype=_BAND)
    part = part[np.argsort(part["h"], kind="stable")]  # index order kept within a hash
    targets = [Path(task.path).with_suffix(f".pairs-{r:05d}") for r in range(task.ranges)]
    tmps = [t.with_name(f"{t.name}.{os.getpid()}.tmp") for t in targets]
    files = [t.open("wb") for t in tmps]
    try:
        for w in range(1, task.window + 1):
            same = part["h"][w:] == part["h"][:-w]
            if not same.any():
                break  # no run of w+1 equal hashes, so none longer either
            pair = np.empty(int(same.sum()), dtype=_EDGE)
            pair["later"], pair["earlier"] = part["i"][w:][same], part["i"][:-w][same]
            which = pair["later"] // task.span
            for r in np.unique(which).tolist():
                files[r].write(pair[which == r].tobytes())
    finally:
        for f in files:
            f.close()
    for tmp, target in zip(tmps, targets, strict=True):  # a killed task leaves no output
        os.replace(tmp, target)
    outputs = [str(t) for t in targets]
    return outputs


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
        inputs = DuplicateInputs(Path(tmp) / "inputs", near)
        block: list[tuple[str, str]] = []
        for item in items:
            block.append(item)
            if len(block) == 4096:
                _add_texts(inputs, block)
                block = []
        _add_texts(inputs, block)
        inputs.close()
        dups = DuplicateFinder(Path(tmp), [Path(tmp) / "inputs"], near, exact, memory_mb).resolve()
        try:
            return dups.all_decisions()
        finally:
            dups.close()


def _add_texts(inputs: DuplicateInputs, block: list[tuple[str, str]]) -> None:
    if not block:
        return
    normalized = [normalize_text(t) for _, t in block]
    sigs: list[np.ndarray | None] = (
        [normalized_signature(t, inputs.near) for t in normalized]
        if inputs.near
        else [None] * len(block)
    )
    keys = [normalized_key(t) for t in normalized]
    inputs.add([i for i, _ in block], keys, sigs)
