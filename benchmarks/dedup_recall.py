"""Does modelmint's duplicate finder find the duplicates planted in the sample corpus?

Runs ``find_duplicates`` (default settings: exact + near, 5-grams, 128 permutations,
threshold 0.8, verification on) on ``generate_sample_corpus(6000, seed=0)``, a document being
its message contents joined with "\\n". Goal: recall >= 0.95 at precision >= 0.99.

* recall: planted (copy, original) pairs, exact and near, whose two ids share a cluster.
* precision: planted pairs found / all pairs implied by the clusters (k*(k-1)/2 per cluster).
* doc_precision: dropped documents whose (document, kept document) pair is planted / dropped.
* docs/s: normalize, hash, sign, write to disk, sort, verify, with the sorts in one partition
  (``memory_mb=256``) and in many (``memory_mb=0.05``); both must decide the same.

Run: ``.venv/bin/python benchmarks/dedup_recall.py`` (a few seconds). The last line printed is
one JSON object with the figures.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter

from modelmint.data.dedup import normalize_text
from modelmint.data.duplicates import find_duplicates
from modelmint.samples import generate_sample_corpus


def main() -> None:
    records, truth = generate_sample_corpus(6000, seed=0)
    items = [(r["id"], "\n".join(m["content"] for m in r["messages"])) for r in records]
    normalize_text("")  # builds the punctuation table once, outside the timing

    speed: dict[str, int] = {}
    runs: dict[str, list[tuple[str, str] | None]] = {}
    for name, memory_mb in (("one_partition", 256.0), ("many_partitions", 0.05)):
        start = time.perf_counter()
        runs[name] = find_duplicates(items, memory_mb=memory_mb)
        speed[name] = round(len(items) / (time.perf_counter() - start))
    results = runs["one_partition"]
    same = runs["many_partitions"] == results
    groups: dict[str, list[str]] = {}
    for (doc_id, _), r in zip(items, results, strict=True):
        groups.setdefault(doc_id if r is None else r[1], []).append(doc_id)
    clusters = [g for g in groups.values() if len(g) > 1]

    planted = {frozenset(p) for p in truth.exact_duplicates + truth.near_duplicates}
    near = {frozenset(p) for p in truth.near_duplicates}
    pairs = {frozenset(p) for c in clusters for p in itertools.combinations(c, 2)}
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
        "partitionings_agree": same,
    }
    figures["goal_met"] = figures["recall"] >= 0.95 and figures["precision"] >= 0.99
    print(f"recall {figures['recall']:.4f} (near only {figures['recall_near']:.4f})")
    print(f"precision {figures['precision']:.4f} (documents {figures['doc_precision']:.4f})")
    print(f"dropped {figures['dropped']}")
    print("docs/s " + ", ".join(f"{k} {v}" for k, v in speed.items()))
    print(
        f"partitionings agree: {same}; goal (recall >= 0.95 at precision >= 0.99) met: "
        f"{figures['goal_met']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
