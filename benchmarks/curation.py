"""modelmint's curation pipeline against datatrove doing the same steps, side by side.

Corpus: the synthetic customer-service corpus (``generate_sample_corpus``, 6,000 dialogues
a seed) for seeds 0, 1, 2, ... concatenated until at least ``--mb`` MiB (default 200) of
JSONL is written: one ``{"id": "s<seed>-<id>", "text": <turns joined by "\\n">}`` line per
dialogue, round-robin over 8 files under ``/tmp/mint-bench-curation/corpus-<N>mb`` (reused
while its manifest says the same size). About half the dialogues are Simplified Chinese, half
English, and seeds share many template dialogues, so there are many exact and near copies.

Each side runs in its own subprocess, one after the other, on the same files, with 2 worker
processes. Seconds are ``time.perf_counter`` around the pipeline inside that subprocess
(interpreter start and imports excluded, every stage and its disk I/O included); docs/s is
input documents / seconds. Memory is sampled every 0.1 s from ``/proc/<pid>/smaps_rollup``
of the subprocess and all its descendants (workers, datatrove's forkserver): the headline
"peak RSS" is the largest SUM of RSS over that process tree (it counts pages shared by
forked workers once per process, so it overstates); the peak sum of PSS (shared pages split
between their sharers) and the largest single process are reported as well.

modelmint: ``curate()`` with ``QualityConfig.web()`` (Gopher repetition, Gopher quality and
C4 at the papers' thresholds, plus the length rule's 1,000,000-character cap), exact dedup
(BLAKE2b of NFKC-lowercased, punctuation-free, whitespace-collapsed text), MinHash near
dedup (``NearDupConfig()``: character 5-grams of that normalized text, 128 permutations,
LSH 16 bands x 8 rows, candidates verified at estimated Jaccard >= 0.8, rensa), no PII
scrubbing, no language identification (``identify_language=False``: neither side runs it),
all documents to ``train``, no decontamination, ``num_proc=2``. Output: Parquet, registered
in a fresh SQLite catalog. Steps modelmint runs that datatrove does not: the content hash of
the inputs (one read of every byte), the split pass and the reports.

datatrove (the installed version, ``LocalPipelineExecutor``, tasks = input files (8),
workers = 2, default forkserver start, uncompressed JSONL between stages), six runs:

1. JsonlReader -> GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter (all at
   their defaults, which are the papers' thresholds, i.e. ``QualityConfig.web()``) ->
   JsonlWriter -> ExactDedupSignature (xxhash64 of ``simplify_text`` with numbers kept:
   lowercased, punctuation removed, whitespace collapsed, diacritics stripped);
2. ExactFindDedups (1 task);
3. JsonlReader -> ExactDedupFilter -> JsonlWriter -> MinhashDedupSignature
   (``MinhashConfig()`` defaults: 5-grams of WORDS of ``simplify_text`` (which maps every
   number to 0), 14 buckets x 8 hashes = 112 hashes, xxhash64; no verification, a pair is a
   duplicate when one whole bucket matches, i.e. the LSH S-curve's ~0.72 midpoint);
4. MinhashDedupBuckets (14 tasks); 5. MinhashDedupCluster (1 task);
6. JsonlReader -> MinhashDedupFilter -> JsonlWriter (the output).

Word tokenizer: datatrove's default for English is spaCy and for Chinese spaCy + jieba, none
of which is installed here, so every datatrove step is given one ``WordTokenizer`` that
splits words exactly as modelmint does (``modelmint.data.quality.words``: a run of letters or
digits, or one Han/kana character) and sentences at modelmint's sentence ends. The filters
then see the same words on both sides (on the English documents of a 2 MiB corpus the two
sides' quality verdicts differed on 9 of 2,466, all stop words, which modelmint matches
case-insensitively), and it is cheaper than spaCy would be, so it favours datatrove's speed.
The rules still differ where datatrove is not CJK-aware: its mean word length counts each
Han character as a 1-character word (nearly every Chinese document fails it; modelmint
measures Latin words only), its stop words are the 8 English ones, and its C4 line rule
counts whitespace-split words (a Chinese line is one word, under the 3-word minimum). So
datatrove keeps no Chinese document at all, which leaves its C4 and dedup stages about half
the documents modelmint's get. Other differences: MinHash shingles are character 5-grams
with numbers kept (modelmint) vs word 5-grams with every number mapped to 0 (datatrove, so
dialogues that differ only in order numbers or amounts collide); 128 vs 112 hashes;
verified vs unverified candidates; modelmint's streaming dedup keeps the first document of
each cluster, datatrove keeps one per union-find cluster.

Environment: datatrove's JsonlReader/JsonlWriter need ``orjson`` (datatrove's ``[io]`` extra,
which the ``dev`` extra does not pull in); the installed xxhash (>= 4) refuses str, which
datatrove's MinHash step passes it (datatrove pins xxhash < 4), so the signature step here
encodes each n-gram before the same xxhash64 call.

Run: ``.venv/bin/python benchmarks/curation.py`` (200 MiB: about 5 minutes on 2 cores, plus
about 2.5 minutes to generate the corpus the first time); ``--quick`` for 20 MiB, ``--mb N``
for another size, ``--sides modelmint,datatrove`` for some of the sides. The table comes
first; the last line printed is one JSON object with the raw figures.

Ray sides (``modelmint-ray``, ``datatrove-ray``): the same pipelines on a Ray instance of 2
CPUs that the side's subprocess starts (``ray.init(num_cpus=2)``), timed from after it is
up. modelmint: ``curate(..., executor=RayExecutor())``, shard tasks one CPU each (the input
files are 8 shards) and the duplicate finder's partition sorts as Ray tasks too. datatrove:
its ``RayPipelineExecutor`` for every stage, same tasks and workers as locally. Memory is
reported per role: the driver (the side's process), the largest single worker (a pool
process, a forkserver child or a Ray worker), and the sum of Ray's own services (GCS,
raylet, agents).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path("/tmp/mint-bench-curation")
N_FILES = 8
WORKERS = 2
DIALOGUES_PER_SEED = 6000
SIDES = ("modelmint", "modelmint-ray", "datatrove", "datatrove-ray")


def _start_ray() -> None:
    """A Ray instance of WORKERS CPUs on this machine, as a user would start one."""
    import ray

    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)


# corpus ------------------------------------------------------------------------------------
def build_corpus(target_mb: float) -> dict[str, Any]:
    """Write (or reuse) the corpus: >= target_mb MiB of JSONL in N_FILES files."""
    from modelmint.samples import generate_sample_corpus

    corpus = ROOT / f"corpus-{target_mb:g}mb"
    manifest_path = corpus / "manifest.json"
    target = int(target_mb * 2**20)
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        files = [corpus / f for f in manifest["files"]]
        if manifest["target_bytes"] == target and all(
            f.exists() and f.stat().st_size == size
            for f, size in zip(files, manifest["file_bytes"], strict=True)
        ):
            manifest["reused"] = True
            return manifest
    shutil.rmtree(corpus, ignore_errors=True)
    data = corpus / "data"
    data.mkdir(parents=True)
    names = [f"part-{i:02d}.jsonl" for i in range(N_FILES)]
    handles = [(data / n).open("w", encoding="utf-8") for n in names]
    sizes = [0] * N_FILES
    docs = seed = 0
    try:
        while sum(sizes) < target:
            records, _ = generate_sample_corpus(DIALOGUES_PER_SEED, seed=seed)
            for rec in records:
                text = "\n".join(m["content"] for m in rec["messages"])
                line = json.dumps({"id": f"s{seed}-{rec['id']}", "text": text}, ensure_ascii=False)
                k = docs % N_FILES
                handles[k].write(line + "\n")
                sizes[k] += len(line.encode("utf-8")) + 1
                docs += 1
                if sum(sizes) >= target:
                    break
            seed += 1
    finally:
        for h in handles:
            h.close()
    manifest = {
        "target_bytes": target,
        "docs": docs,
        "bytes": sum(sizes),
        "seeds": seed,
        "dir": str(data),
        "files": [f"data/{n}" for n in names],
        "file_bytes": sizes,
    }
    manifest_path.write_text(json.dumps(manifest, indent=1))
    manifest["reused"] = False
    return manifest


# modelmint side ----------------------------------------------------------------------------
def run_modelmint(corpus_dir: Path, work: Path, on_ray: bool) -> dict[str, Any]:
    from modelmint.catalog import Catalog
    from modelmint.data import CurateConfig, NearDupConfig, QualityConfig, SplitConfig, curate
    from modelmint.data.curate import content_hash
    from modelmint.data.executors import LocalExecutor, RayExecutor
    from modelmint.data.readers import expand_paths
    from modelmint.observability import ProgressEvent
    from modelmint.store import Store

    catalog = Catalog(Store.open(f"sqlite:///{work}/mint.db"), work / "artifacts")
    config = CurateConfig(
        quality=QualityConfig.web(),
        languages=None,
        identify_language=False,
        scrub_pii=False,
        exact_dedup=True,
        near_dedup=NearDupConfig(),
        splits=SplitConfig(validation=0.0, stratify_by=None),
        decontaminate=False,
        num_proc=WORKERS,
    )
    if on_ray:
        _start_ray()
    executor = RayExecutor() if on_ray else LocalExecutor()
    # Stage times from the pipeline's own progress events: each step's first event marks
    # its start, so a step lasts until the next one's first event ("deduplicate" ends the
    # shard tasks, "assemble" the last step of de-duplication).
    marks: dict[str, float] = {}

    def note(event: ProgressEvent) -> None:
        marks.setdefault(event.task, time.perf_counter())

    start = time.perf_counter()
    result = curate(catalog, [corpus_dir], "bench", config, progress=note, executor=executor)
    seconds = time.perf_counter() - start
    t = time.perf_counter()
    content_hash(expand_paths([corpus_dir]), config)  # measured apart: part of the first stage
    hashing = time.perf_counter() - t
    report = result.report
    return {
        "seconds": seconds,
        "kept": report["kept"],
        "drops": report.get("drops", {}),
        "stages": _stage_seconds(marks, start, start + seconds)
        | {"content hash (timed apart; also in the shard tasks)": hashing},
    }


def _stage_seconds(marks: dict[str, float], start: float, end: float) -> dict[str, float]:
    names = {"curate": "shard tasks (content hash included)", "deduplicate": "dedup: setup"}
    steps = sorted((t, names.get(k, k)) for k, t in marks.items())
    steps[0] = (start, steps[0][1])  # the shard tasks start with the run
    return {
        name: (steps[i + 1][0] if i + 1 < len(steps) else end) - t
        for i, (t, name) in enumerate(steps)
    }


# datatrove side ----------------------------------------------------------------------------
def _datatrove_tokenizer() -> Any:
    from datatrove.utils.word_tokenizers import WordTokenizer

    from modelmint.data.quality import _SENTENCE_END_RE
    from modelmint.data.words import words

    class MintWordTokenizer(WordTokenizer):
        """modelmint's words (a run of letters/digits, or one Han/kana character) and
        sentence ends, for datatrove's steps (whose default tokenizers are not installed)."""

        def word_tokenize(self, text: str) -> list[str]:
            return words(text)

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            spans, start = [], 0
            for m in _SENTENCE_END_RE.finditer(text):
                spans.append((start, m.end()))
                start = m.end()
            if text[start:].strip() or not spans:
                spans.append((start, len(text)))
            return spans

        def sent_tokenize(self, text: str) -> list[str]:
            return [s for a, b in self.span_tokenize(text) if (s := text[a:b].strip())]

    return MintWordTokenizer("mint")


def _exact_content(doc: Any) -> bytes:
    from datatrove.utils.text import TextNormConfig, simplify_text

    return simplify_text(doc.text, TextNormConfig(norm_numbers=False)).encode("utf-8")


def _xxh64_str(text: str) -> int:
    import xxhash

    return xxhash.xxh64_intdigest(text.encode("utf-8"))


def run_datatrove(corpus_dir: Path, work: Path, on_ray: bool) -> dict[str, Any]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        ExactDedupConfig,
        ExactDedupFilter,
        ExactDedupSignature,
        ExactFindDedups,
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    class MinhashSignature(MinhashDedupSignature):
        """Hashes each n-gram with xxhash64 as datatrove does, encoding it first: datatrove
        passes str, which xxhash >= 4 (installed here; datatrove pins < 4) refuses."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._hash_func = _xxh64_str

    tok = _datatrove_tokenizer()
    tasks = len(list(corpus_dir.glob("*.jsonl")))
    exact_cfg = ExactDedupConfig(content_getter=_exact_content)
    minhash_cfg = MinhashConfig()
    d = {
        k: str(work / k)
        for k in (
            "filtered",
            "exact_sigs",
            "exact_dups",
            "exact_out",
            "mh_sigs",
            "mh_buckets",
            "mh_ids",
            "output",
            "logs",
        )
    }

    def writer(folder: str) -> Any:
        return JsonlWriter(folder, output_filename="${rank}.jsonl", compression=None)

    stages: list[tuple[str, list[Any], int]] = [
        (
            "filters+exact_signature",
            [
                JsonlReader(str(corpus_dir), glob_pattern="*.jsonl", add_file_path=False),
                GopherRepetitionFilter(language=tok),
                GopherQualityFilter(language=tok),
                C4QualityFilter(language=tok),
                writer(d["filtered"]),
                ExactDedupSignature(d["exact_sigs"], config=exact_cfg),
            ],
            tasks,
        ),
        ("exact_find", [ExactFindDedups(d["exact_sigs"], d["exact_dups"], config=exact_cfg)], 1),
        (
            "exact_filter+minhash_signature",
            [
                JsonlReader(d["filtered"], glob_pattern="*.jsonl", add_file_path=False),
                ExactDedupFilter(d["exact_dups"], config=exact_cfg),
                writer(d["exact_out"]),
                MinhashSignature(d["mh_sigs"], config=minhash_cfg, language=tok),
            ],
            tasks,
        ),
        (
            "minhash_buckets",
            [MinhashDedupBuckets(d["mh_sigs"], d["mh_buckets"], config=minhash_cfg)],
            minhash_cfg.num_buckets,
        ),
        ("minhash_cluster", [MinhashDedupCluster(d["mh_buckets"], d["mh_ids"], minhash_cfg)], 1),
        (
            "minhash_filter",
            [
                JsonlReader(d["exact_out"], glob_pattern="*.jsonl", add_file_path=False),
                MinhashDedupFilter(d["mh_ids"]),
                writer(d["output"]),
            ],
            tasks,
        ),
    ]
    if on_ray:
        from datatrove.executor.ray import RayPipelineExecutor

        _start_ray()
    times: dict[str, float] = {}
    start = time.perf_counter()
    for name, pipeline, n_tasks in stages:
        t = time.perf_counter()
        executor = RayPipelineExecutor if on_ray else LocalPipelineExecutor
        executor(
            pipeline,
            tasks=n_tasks,
            workers=min(WORKERS, n_tasks),
            logging_dir=f"{d['logs']}/{name}",
        ).run()
        times[name] = time.perf_counter() - t
    seconds = time.perf_counter() - start
    kept = sum(_count_lines(f) for f in Path(d["output"]).glob("*.jsonl"))
    after_filters = sum(_count_lines(f) for f in Path(d["filtered"]).glob("*.jsonl"))
    after_exact = sum(_count_lines(f) for f in Path(d["exact_out"]).glob("*.jsonl"))
    return {
        "seconds": seconds,
        "kept": kept,
        "after_filters": after_filters,
        "after_exact": after_exact,
        "stages": times,
    }


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b""))


# measuring a side --------------------------------------------------------------------------
_SMAPS_RE = re.compile(rb"^(Rss|Pss):\s+(\d+) kB", re.MULTILINE)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _rss_by_process(pids: list[int]) -> dict[int, tuple[int, int, bytes]]:
    """pid -> (RSS kB, PSS kB, command line) for the pids still alive."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                fields = dict(_SMAPS_RE.findall(f.read()))
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        out[pid] = (int(fields.get(b"Rss", 0)), int(fields.get(b"Pss", 0)), cmdline)
    return out


def _role(pid: int, root: int, cmdline: bytes) -> str:
    """driver (the side's own process), ray (Ray's services: GCS, raylet, agents), or
    worker (a pool process, a datatrove forkserver child, or a Ray worker)."""
    if pid == root:
        return "driver"
    if b"/ray/" in cmdline and not cmdline.startswith(b"ray::"):
        return "ray"
    return "worker"


def measure(side: str, corpus_dir: Path, log: Path) -> dict[str, Any]:
    work = ROOT / f"run-{side}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result_file = work / "result.json"
    cmd = [sys.executable, __file__, "--side", side, "--corpus-dir", str(corpus_dir)]
    cmd += ["--work", str(work), "--result", str(result_file)]
    peak = [0, 0, 0]
    peak_by_role: dict[str, int] = {"driver": 0, "worker": 0, "ray": 0}
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            procs = _rss_by_process(_descendants(proc.pid))
            rss = [r for r, _, _ in procs.values()]
            mem = (sum(rss), sum(p for _, p, _ in procs.values()), max(rss, default=0))
            peak = [max(a, b) for a, b in zip(peak, mem, strict=True)]
            services = 0
            for pid, (r, _, cmdline) in procs.items():
                role = _role(pid, proc.pid, cmdline)
                if role == "ray":
                    services += r
                else:
                    peak_by_role[role] = max(peak_by_role[role], r)
            peak_by_role["ray"] = max(peak_by_role["ray"], services)
            time.sleep(0.1)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise SystemExit(f"{side} failed (exit {proc.returncode}); log {log}:\n{tail}")
    result = json.loads(result_file.read_text())
    result.update(
        subprocess_seconds=wall,
        peak_rss_mb=peak[0] / 1024,
        peak_pss_mb=peak[1] / 1024,
        peak_single_process_rss_mb=peak[2] / 1024,
        peak_driver_rss_mb=peak_by_role["driver"] / 1024,
        peak_worker_rss_mb=peak_by_role["worker"] / 1024,
        peak_ray_services_rss_mb=peak_by_role["ray"] / 1024,
    )
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=200.0, help="corpus size in MiB (default 200)")
    ap.add_argument("--quick", action="store_true", help="20 MiB corpus, for a smoke test")
    ap.add_argument(
        "--sides", default=",".join(SIDES), help=f"comma list of sides (default {','.join(SIDES)})"
    )
    ap.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--corpus-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.side:  # inside one side's subprocess
        run = run_modelmint if args.side.startswith("modelmint") else run_datatrove
        result = run(args.corpus_dir, args.work, args.side.endswith("-ray"))
        args.result.write_text(json.dumps(result))
        return

    sides = [x for x in args.sides.split(",") if x]
    unknown = set(sides) - set(SIDES)
    if unknown:
        raise SystemExit(f"unknown sides {sorted(unknown)}; choose among {', '.join(SIDES)}")
    if any(x.startswith("datatrove") for x in sides):
        import importlib.util

        if importlib.util.find_spec("orjson") is None:
            raise SystemExit(
                "datatrove's JsonlReader/JsonlWriter need orjson (datatrove's [io] extra): "
                "pip install orjson, or pass --sides modelmint,modelmint-ray"
            )
    mb = 20.0 if args.quick else args.mb
    t = time.perf_counter()
    corpus = build_corpus(mb)
    how = "reused" if corpus["reused"] else f"generated in {time.perf_counter() - t:.0f} s"
    print(
        f"corpus: {corpus['docs']:,} docs, {corpus['bytes'] / 2**20:.1f} MiB in "
        f"{len(corpus['files'])} files ({corpus['seeds']} seeds; {how}): {corpus['dir']}",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    for side in sides:
        print(f"running {side} ...", flush=True)
        res = measure(side, Path(corpus["dir"]), ROOT / f"{side}.log")
        res["docs_per_s"] = corpus["docs"] / res["seconds"]
        res["mb_per_s"] = corpus["bytes"] / 2**20 / res["seconds"]
        results[side] = res

    rows = [
        ("documents in", lambda r: f"{corpus['docs']:,}"),
        ("MiB in", lambda r: f"{corpus['bytes'] / 2**20:.1f}"),
        ("seconds (pipeline)", lambda r: f"{r['seconds']:.1f}"),
        ("seconds (subprocess)", lambda r: f"{r['subprocess_seconds']:.1f}"),
        ("documents/s", lambda r: f"{r['docs_per_s']:,.0f}"),
        ("MiB/s", lambda r: f"{r['mb_per_s']:.2f}"),
        ("peak RSS, tree sum (MB)", lambda r: f"{r['peak_rss_mb']:,.0f}"),
        ("peak PSS, tree sum (MB)", lambda r: f"{r['peak_pss_mb']:,.0f}"),
        ("peak RSS, one process (MB)", lambda r: f"{r['peak_single_process_rss_mb']:,.0f}"),
        ("peak RSS, driver (MB)", lambda r: f"{r['peak_driver_rss_mb']:,.0f}"),
        ("peak RSS per worker (MB)", lambda r: f"{r['peak_worker_rss_mb']:,.0f}"),
        ("peak RSS, Ray services (MB)", lambda r: f"{r['peak_ray_services_rss_mb']:,.0f}"),
        ("documents kept", lambda r: f"{r['kept']:,}"),
    ]
    names = list(results)
    print()
    print(f"{'':28}" + "".join(f"{n:>14}" for n in names))
    for label, fmt in rows:
        print(f"{label:28}" + "".join(f"{fmt(results[n]):>14}" for n in names))
    for side, res in results.items():
        stages = ", ".join(f"{k} {v:.1f}" for k, v in res["stages"].items())
        print(f"{side} stage seconds: {stages}")
        if side.startswith("datatrove"):
            print(
                f"{side} after filters {res['after_filters']:,}, after exact dedup "
                f"{res['after_exact']:,}"
            )
    if "modelmint" in results:
        drops = results["modelmint"]["drops"]
        print("modelmint drops: " + ", ".join(f"{k} {v:,}" for k, v in sorted(drops.items())))
    ratios: dict[str, float] = {}
    for ours, theirs in (
        ("modelmint", "datatrove"),
        ("modelmint-ray", "datatrove-ray"),
        ("modelmint-ray", "modelmint"),
    ):
        if ours in results and theirs in results:
            ratio = results[ours]["docs_per_s"] / results[theirs]["docs_per_s"]
            ratios[f"{ours} / {theirs}"] = ratio
            print(f"documents/s ratio {ours} / {theirs}: {ratio:.2f}")
    summary = {
        "corpus": {k: corpus[k] for k in ("docs", "bytes", "seeds", "dir")},
        "workers": WORKERS,
        "ratio_docs_per_s": ratios,
        **{
            side: {
                "docs": corpus["docs"],
                "bytes": corpus["bytes"],
                **{k: v for k, v in res.items() if k != "drops"},
            }
            for side, res in results.items()
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
