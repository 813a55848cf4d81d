"""Which MinHash-LSH library should modelmint's near-duplicate stage use? Measure, then pick.

Every candidate gets the same normalized texts (``modelmint.data.dedup.normalize_text``), the
same character 5-grams, 128 permutations, threshold 0.8 and the same streaming rule as
modelmint's duplicate finder (``modelmint.data.duplicates``): a document is checked against
the LSH candidates among the documents kept before it; if the most similar one has estimated
Jaccard >= 0.8 the document is dropped into its cluster, otherwise it is kept and indexed.
(The finder now applies that rule with sorted band-hash files instead of an in-memory index;
this benchmark compares the libraries' sketches and indexes as they were chosen.)

Candidates marked "=" use the bands the module uses (``lsh_bands``: 16 x 8); those marked "ref"
show the library defaults for reference (datasketch's own optimum 9 x 13; rensa's equal-weight
optimum among divisors of 128, 8 x 16) and take no part in the choice.

Data: ``generate_sample_corpus(6000, seed=0)`` ("6k") and seeds 0-9 of it concatenated, ids
prefixed by the seed ("60k"). Seeds are generated independently, so 60k holds thousands of
UNPLANTED duplicates across seeds (short template dialogues coincide: ~2,450 normalize to the
same text), which a correct deduplicator finds. Hence:

* recall: planted pairs (exact + near) whose two ids share a cluster / planted pairs.
* precision: pairs implied by the clusters (k*(k-1)/2 each) that are planted OR have exact
  character-5-gram Jaccard >= 0.8 on normalized text / all implied pairs.
  ``precision_planted`` counts planted pairs only (meaningful on 6k, where unplanted pairs are
  kept below 0.7 by the generator; on 60k it mostly counts the cross-seed duplicates).
* doc_precision: dropped documents whose pair with their kept document is true (as above).
* recall_pooled: true pairs found / true pairs found by any candidate (plus planted).
* docs/s: documents / seconds from normalized text to clusters (shingling, signing, LSH,
  verification), one process; normalization is shared and reported once.

Run: ``.venv/bin/python benchmarks/dedup_choice.py`` (about a minute on 2 cores; ``--full``
also runs rensa's CMinHashDeduplicator on 60k, which has no LSH and compares every kept
document: about a minute more). The last line printed is one JSON object with every figure
and the chosen library.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import xxhash
from datasketch import MinHash, MinHashLSH
from rensa import CMinHash, CMinHashDeduplicator, RMinHash, RMinHashDeduplicator, RMinHashLSH

from modelmint.data.dedup import NearDupConfig, _shingles, lsh_bands, normalize_text
from modelmint.samples import generate_sample_corpus

CONFIG = NearDupConfig()
NGRAM, NUM_PERM, THRESHOLD, SEED = CONFIG.ngram, CONFIG.num_perm, CONFIG.threshold, CONFIG.seed
BANDS, ROWS = lsh_bands(CONFIG)


@dataclass
class Corpus:
    name: str
    ids: list[str]
    texts: list[str]  # normalized
    planted: set[frozenset[str]]
    normalize_s: float


def corpus(name: str, seeds: Sequence[int], n: int = 6000) -> Corpus:
    ids, raw, planted = [], [], set()
    for seed in seeds:
        records, truth = generate_sample_corpus(n, seed)
        tag = f"s{seed}-" if len(seeds) > 1 else ""
        ids += [tag + r["id"] for r in records]
        raw += ["\n".join(m["content"] for m in r["messages"]) for r in records]
        pairs = truth.exact_duplicates + truth.near_duplicates
        planted |= {frozenset((tag + a, tag + b)) for a, b in pairs}
    normalize_text("")  # builds the punctuation table once, outside the timing
    start = time.perf_counter()
    texts = [normalize_text(t) for t in raw]
    return Corpus(name, ids, texts, planted, time.perf_counter() - start)


# -- signing: one sketch per document, streamed (holding every document's shingles at once --
# -- costs more in allocation than the hashing itself) ----------------------------------------


def datasketch_sign(texts: Sequence[str], hashfunc: Callable[[bytes], int] | None) -> list[Any]:
    kwargs: dict[str, Any] = {"num_perm": NUM_PERM, "seed": SEED}
    if hashfunc is not None:
        kwargs["hashfunc"] = hashfunc
    shingles = ([s.encode() for s in _shingles(t, NGRAM)] for t in texts)
    return list(MinHash.generator(shingles, **kwargs))  # what MinHash.bulk does, lazily


def rensa_sign(texts: Sequence[str], cls: Any = RMinHash) -> list[Any]:
    sigs = []
    for t in texts:
        sig = cls(NUM_PERM, SEED)
        sig.update(_shingles(t, NGRAM))
        sigs.append(sig)
    return sigs


def rensa_sign_batch(texts: Sequence[str]) -> list[Any]:
    """rensa's batch constructor, in chunks of 256 documents."""
    sigs: list[Any] = []
    for i in range(0, len(texts), 256):
        shingles = [_shingles(t, NGRAM) for t in texts[i : i + 256]]
        sigs += RMinHash.from_token_sets(shingles, NUM_PERM, SEED)
    return sigs


# -- streaming: the duplicate finder's rule --------------------------------------------------


def stream_lsh(
    sigs: Sequence[Any], insert: Callable[[int, Any], None], query: Callable[[Any], Any]
) -> list[int]:
    """Query, verify the most similar candidate, index the document only if it is kept."""
    root: list[int] = []
    for i, sig in enumerate(sigs):
        best, best_sim = -1, -1.0
        for j in sorted(query(sig)):
            sim = sig.jaccard(sigs[j])
            if sim > best_sim:
                best, best_sim = j, sim
        if best_sim >= THRESHOLD:
            root.append(best)
        else:
            insert(i, sig)
            root.append(i)
    return root


def datasketch_stream(sigs: Sequence[Any], params: tuple[int, int] | None) -> list[int]:
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=params)

    def insert(i: int, m: Any) -> None:
        lsh.insert(i, m, check_duplication=False)

    return stream_lsh(sigs, insert, lsh.query)


def rensa_lsh_stream(sigs: Sequence[Any], bands: int) -> list[int]:
    lsh = RMinHashLSH(THRESHOLD, NUM_PERM, bands)
    return stream_lsh(sigs, lsh.insert, lsh.query)


def rensa_dedup_stream(sigs: Sequence[Any], dedup: Any) -> list[int]:
    """rensa's own deduplicators: they index what they keep and verify against the threshold."""
    root: list[int] = []
    for i, sig in enumerate(sigs):
        dups: list[Hashable] = dedup.get_duplicates(sig)
        if dups:
            root.append(max((int(str(k)) for k in dups), key=lambda j: (sig.jaccard(sigs[j]), -j)))
        else:
            dedup.add(str(i), sig)
            root.append(i)
    return root


@dataclass(frozen=True)
class Candidate:
    name: str
    library: str
    sign: Callable[[Sequence[str]], list[Any]]
    stream: Callable[[Sequence[Any]], list[int]]
    sign_key: str  # candidates with the same key share one signing run (timed once, reused)
    compared: bool = True  # False: library default shown for reference only
    slow: bool = False  # no LSH (quadratic): on 60k only with --full


B = f"b{BANDS}r{ROWS}"
CANDIDATES = [
    Candidate(
        f"datasketch MinHash(sha1)+MinHashLSH {B}",
        "datasketch",
        lambda t: datasketch_sign(t, None),
        lambda s: datasketch_stream(s, (BANDS, ROWS)),
        "ds-sha1",
    ),
    Candidate(
        f"datasketch MinHash(xxh32)+MinHashLSH {B}",
        "datasketch",
        lambda t: datasketch_sign(t, xxhash.xxh32_intdigest),
        lambda s: datasketch_stream(s, (BANDS, ROWS)),
        "ds-xxh32",
    ),
    Candidate(
        f"rensa RMinHash+RMinHashLSH {B}",
        "rensa",
        rensa_sign,
        lambda s: rensa_lsh_stream(s, BANDS),
        "r",
    ),
    Candidate(
        f"rensa RMinHashDeduplicator {B}",
        "rensa",
        rensa_sign,
        lambda s: rensa_dedup_stream(
            s, RMinHashDeduplicator(THRESHOLD, NUM_PERM, True, BANDS, SEED)
        ),
        "r",
    ),
    Candidate(
        "rensa CMinHash+CMinHashDeduplicator (no LSH)",
        "rensa",
        lambda t: rensa_sign(t, CMinHash),
        lambda s: rensa_dedup_stream(s, CMinHashDeduplicator(THRESHOLD, NUM_PERM, SEED)),
        "c",
        slow=True,
    ),
    Candidate(
        "datasketch MinHash(sha1)+MinHashLSH default b9r13",
        "datasketch",
        lambda t: datasketch_sign(t, None),
        lambda s: datasketch_stream(s, None),
        "ds-sha1",
        compared=False,
    ),
    Candidate(
        "rensa RMinHash+RMinHashLSH equal-weight b8r16",
        "rensa",
        rensa_sign,
        lambda s: rensa_lsh_stream(s, 8),
        "r",
        compared=False,
    ),
]
SIGNING = {  # signing paths alone, 6k: is a batch API faster than one sketch per document?
    "datasketch MinHash.bulk (sha1)": lambda t: datasketch_sign(t, None),
    "datasketch MinHash.bulk (xxh32)": lambda t: datasketch_sign(t, xxhash.xxh32_intdigest),
    "rensa RMinHash.update per doc": rensa_sign,
    "rensa RMinHash.from_token_sets (batch)": rensa_sign_batch,
    "rensa CMinHash.update per doc": lambda t: rensa_sign(t, CMinHash),
}


# -- scoring ---------------------------------------------------------------------------------


def jaccard_exact(a: str, b: str) -> float:
    sa, sb = set(_shingles(a, NGRAM)), set(_shingles(b, NGRAM))
    return len(sa & sb) / max(1, len(sa | sb))


class Judge:
    """Whether a pair of documents (by index) is a true duplicate; caches exact Jaccard."""

    def __init__(self, c: Corpus) -> None:
        self.c, self.cache = c, dict[tuple[int, int], bool]()

    def planted(self, i: int, j: int) -> bool:
        return frozenset((self.c.ids[i], self.c.ids[j])) in self.c.planted

    def true(self, i: int, j: int) -> bool:
        key = (min(i, j), max(i, j))
        if key not in self.cache:
            self.cache[key] = self.planted(i, j) or (
                jaccard_exact(self.c.texts[i], self.c.texts[j]) >= THRESHOLD
            )
        return self.cache[key]


def implied_pairs(root: list[int]) -> Iterator[tuple[int, int]]:
    groups: dict[int, list[int]] = {}
    for i, r in enumerate(root):
        groups.setdefault(r, []).append(i)
    for g in groups.values():
        yield from itertools.combinations(g, 2)


def score(judge: Judge, root: list[int], seconds: float) -> tuple[dict[str, Any], set[Any]]:
    pairs = list(implied_pairs(root))
    true_pairs = {p for p in pairs if judge.true(*p)}
    dropped = [(i, r) for i, r in enumerate(root) if r != i]
    found = sum(judge.planted(*p) for p in pairs)
    return {
        "recall": round(found / len(judge.c.planted), 4),
        "precision": round(len(true_pairs) / max(1, len(pairs)), 4),
        "precision_planted": round(found / max(1, len(pairs)), 4),
        "doc_precision": round(sum(judge.true(*d) for d in dropped) / max(1, len(dropped)), 4),
        "dropped": len(dropped),
        "docs_per_s": round(len(root) / seconds),
    }, true_pairs


def run(c: Corpus, full: bool) -> dict[str, dict[str, Any]]:
    judge = Judge(c)
    out: dict[str, dict[str, Any]] = {}
    found: dict[str, set[Any]] = {}
    signed: dict[str, tuple[list[Any], float]] = {}
    for cand in CANDIDATES:
        if cand.slow and len(c.texts) > 10_000 and not full:
            out[cand.name] = {"skipped": "no LSH, compares every kept document: --full runs it"}
            continue
        if cand.sign_key not in signed:
            start = time.perf_counter()
            signed[cand.sign_key] = (cand.sign(c.texts), time.perf_counter() - start)
        sigs, sign_s = signed[cand.sign_key]
        start = time.perf_counter()
        root = cand.stream(sigs)
        out[cand.name], found[cand.name] = score(judge, root, sign_s + time.perf_counter() - start)
    index = {doc_id: i for i, doc_id in enumerate(c.ids)}
    pool = set().union(*found.values()) | {tuple(sorted(index[d] for d in p)) for p in c.planted}
    for name, pairs in found.items():
        out[name]["recall_pooled"] = round(len(pairs) / len(pool), 4)
    return out


def f1(r: dict[str, Any]) -> float:
    p, q = r["precision"], r["recall_pooled"]
    return 2 * p * q / (p + q) if p + q else 0.0


def choose(results: dict[str, dict[str, dict[str, Any]]]) -> tuple[str, str]:
    """Among the compared candidates that reach the goal on 6k (recall >= 0.95, precision >=
    0.99) and recall >= 0.95 on 60k: the fastest on 60k of those within 0.005 of the best F1
    (precision, pooled recall) on 60k."""
    small, large = results["6k"], results["60k"]
    ok = [
        cand
        for cand in CANDIDATES
        if cand.compared
        and "skipped" not in large[cand.name]
        and small[cand.name]["recall"] >= 0.95
        and small[cand.name]["precision"] >= 0.99
        and large[cand.name]["recall"] >= 0.95
    ]
    best_f1 = max(f1(large[cand.name]) for cand in ok)
    ok = [cand for cand in ok if f1(large[cand.name]) >= best_f1 - 0.005]
    best = max(ok, key=lambda cand: large[cand.name]["docs_per_s"])
    return best.name, best.library


def print_table(c: Corpus, normalize_per_s: int, results: dict[str, dict[str, Any]]) -> None:
    print(
        f"\n{c.name}: {len(c.texts)} docs, {len(c.planted)} planted pairs, "
        f"normalize {normalize_per_s} docs/s"
    )
    print(
        f"{'candidate':50} {'':3} {'recall':>6} {'prec':>6} {'planted':>7} {'docprec':>7} "
        f"{'pooled':>6} {'dropped':>7} {'docs/s':>7}"
    )
    for cand in CANDIDATES:
        r, mark = results[cand.name], "=" if cand.compared else "ref"
        if "skipped" in r:
            print(f"{cand.name:50} {mark:3} skipped: {r['skipped']}")
            continue
        print(
            f"{cand.name:50} {mark:3} {r['recall']:6.4f} {r['precision']:6.4f} "
            f"{r['precision_planted']:7.4f} {r['doc_precision']:7.4f} "
            f"{r['recall_pooled']:6.4f} {r['dropped']:7d} {r['docs_per_s']:7d}"
        )


def main() -> None:
    full = "--full" in sys.argv[1:]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    normalize: dict[str, int] = {}
    signing: dict[str, int] = {}
    for name, seeds in (("6k", [0]), ("60k", list(range(10)))):
        c = corpus(name, seeds)
        normalize[name] = round(len(c.texts) / c.normalize_s)
        if name == "6k":
            for path, sign in SIGNING.items():
                start = time.perf_counter()
                sign(c.texts)
                signing[path] = round(len(c.texts) / (time.perf_counter() - start))
        results[name] = run(c, full)
        print_table(c, normalize[name], results[name])
    print("\nsigning only (6k, shingling included), docs/s:")
    for path, per_s in signing.items():
        print(f"  {path:42} {per_s:7d}")
    chosen, library = choose(results)
    print(f"\nchosen: {chosen} -> library {library}")
    summary = {
        "config": {"ngram": NGRAM, "num_perm": NUM_PERM, "threshold": THRESHOLD, "seed": SEED},
        "bands_rows": [BANDS, ROWS],
        "normalize_docs_per_s": normalize,
        "signing_docs_per_s_6k": signing,
        "results": results,
        "chosen": chosen,
        "chosen_library": library,
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
