"""Does modelmint's Deduplicator find the duplicates planted in the sample corpus?

Runs ``Deduplicator`` (default settings: exact + near, 5-grams, 128 permutations, threshold 0.8,
verification on) on ``generate_sample_corpus(6000, seed=0)``, a document being its message
contents joined with "\\n". Goal: recall >= 0.95 at precision >= 0.99.

* recall: planted (copy, original) pairs, exact and near, whose two ids share a cluster.
* precision: planted pairs found / all pairs implied by the clusters (k*(k-1)/2 per cluster).
* doc_precision: dropped documents whose (document, kept document) pair is planted / dropped.
* docs/s: the whole add path (normalize, hash, sign, LSH, verify) through add() one by one,
  add_batch() in batches of 512, and signatures() + add_signed() (what a worker pool splits).

Run: ``.venv/bin/python benchmarks/dedup_recall.py`` (a few seconds). The last line printed is
one JSON object with the figures.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable

from modelmint.data.dedup import Deduplicator, NearDupConfig, exact_key, normalize_text, signatures
from modelmint.data.sample import generate_sample_corpus

Items = list[tuple[str, str]]


def one_by_one(d: Deduplicator, items: Items) -> list[tuple[str, str] | None]:
    return [d.add(doc_id, text) for doc_id, text in items]


def batched(d: Deduplicator, items: Items) -> list[tuple[str, str] | None]:
    return [r for i in range(0, len(items), 512) for r in d.add_batch(items[i : i + 512])]


def presigned(d: Deduplicator, items: Items) -> list[tuple[str, str] | None]:
    sigs = signatures([text for _, text in items], d.near or NearDupConfig())
    return [
        d.add_signed(doc_id, exact_key(text), sig)
        for (doc_id, text), sig in zip(items, sigs, strict=True)
    ]


def main() -> None:
    records, truth = generate_sample_corpus(6000, seed=0)
    items = [(r["id"], "\n".join(m["content"] for m in r["messages"])) for r in records]
    normalize_text("")  # builds the punctuation table once, outside the timing

    speed: dict[str, int] = {}
    runs: dict[str, tuple[Deduplicator, list[tuple[str, str] | None]]] = {}
    paths: dict[str, Callable[[Deduplicator, Items], list[tuple[str, str] | None]]] = {
        "add": one_by_one,
        "add_batch": batched,
        "signatures+add_signed": presigned,
    }
    for name, path in paths.items():
        d = Deduplicator()
        start = time.perf_counter()
        results = path(d, items)
        speed[name] = round(len(items) / (time.perf_counter() - start))
        runs[name] = (d, results)
    d, results = runs["add"]
    same = all(r == results for _, r in runs.values())

    planted = {frozenset(p) for p in truth.exact_duplicates + truth.near_duplicates}
    near = {frozenset(p) for p in truth.near_duplicates}
    pairs = {frozenset(p) for c in d.clusters() for p in itertools.combinations(c, 2)}
    dropped = [(doc_id, r) for (doc_id, _), r in zip(items, results, strict=True) if r]
    figures = {
        "docs": len(items),
        "planted_pairs": len(planted),
        "recall": round(len(pairs & planted) / len(planted), 4),
        "recall_near": round(len(pairs & near) / len(near), 4),
        "precision": round(len(pairs & planted) / max(1, len(pairs)), 4),
        "doc_precision": round(
            sum(frozenset((i, r[1])) in planted for i, r in dropped) / max(1, len(dropped)), 4
        ),
        "dropped": dict(Counter(r[0] for _, r in dropped)),
        "docs_per_s": speed,
        "paths_agree": same,
    }
    figures["goal_met"] = figures["recall"] >= 0.95 and figures["precision"] >= 0.99
    print(f"recall {figures['recall']:.4f} (near only {figures['recall_near']:.4f})")
    print(f"precision {figures['precision']:.4f} (documents {figures['doc_precision']:.4f})")
    print(f"dropped {figures['dropped']}")
    print("docs/s " + ", ".join(f"{k} {v}" for k, v in speed.items()))
    print(
        f"all paths agree: {same}; goal (recall >= 0.95 at precision >= 0.99) met: "
        f"{figures['goal_met']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
