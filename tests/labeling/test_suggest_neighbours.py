"""Nearest labeled neighbours with the real bundled MiniLM encoder on the sample corpus's
intents: a few seeds per intent are labeled, the rest get suggestions, the queue serves
the least confident first."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmint.catalog import DOCUMENT_SCHEMA, Catalog
from modelmint.labeling import Annotations, LabelProjects, LabelQueue
from modelmint.labeling.suggest import SuggestError, load_items, run_suggester, stored_config
from modelmint.labeling.suggest_neighbours import NeighbourSuggester
from modelmint.samples import INTENTS, generate_sample_corpus
from modelmint.store import LabelItem, Store

N_DIALOGUES = 240
SEEDS_PER_INTENT = 4


def register_intents(catalog: Catalog, n: int = N_DIALOGUES) -> list[str]:
    """The customer's first message of each sample dialogue, labeled with its intent."""
    records, _ = generate_sample_corpus(n, seed=5)
    rows = [
        {
            "id": r["id"],
            "text": r["messages"][0]["content"],
            "messages": None,
            "labels": json.dumps({"intent": r["intent"]}),
            "lang": r["lang"],
            "source": "sample",
        }
        for r in records
    ]
    staged: Path = catalog.staging_dir("dataset")
    pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), staged / "train.parquet")
    catalog.add_dataset(
        "intents",
        staged,
        content_hash=f"sample-{n}",
        num_records=len(rows),
        splits={"train": len(rows)},
        source="tests",
    )
    return [r["intent"] for r in records]


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    return Catalog(store, tmp_path / "artifacts")


def _seed(store: Store, truth: list[str], per_intent: int) -> set[int]:
    """Labels the first ``per_intent`` items of each intent (as an annotator would)."""
    notes = Annotations(store)
    ids = {i.position: i.id for i in load_items(store, "p")}
    seen: dict[str, int] = defaultdict(int)
    seeded = set()
    for position, intent in enumerate(truth):
        if seen[intent] < per_intent:
            seen[intent] += 1
            notes.submit("p", ids[position], "seed", intent)
            seeded.add(ids[position])
    return seeded


def test_neighbours_suggest_intents_well_above_chance_least_confident_first(
    store: Store, catalog: Catalog
) -> None:
    truth = register_intents(catalog)
    project = LabelProjects(store, catalog).create(
        "p", "intents", kind="classification", labels=list(INTENTS)
    )
    seeded = _seed(store, truth, SEEDS_PER_INTENT)
    start = time.perf_counter()
    result = run_suggester(store, project, NeighbourSuggester())  # k=10
    seconds = time.perf_counter() - start
    assert result.considered == N_DIALOGUES - len(seeded) == result.suggested
    assert sum(result.histogram) == result.suggested and result.no_confidence == 0
    with store.session() as s:
        rows = s.query(LabelItem).filter(LabelItem.project_id == project.id).all()
        got = {r.position: (r.suggestion, r.confidence, r.suggestion_source, r.id) for r in rows}
    scored = [(got[p][0] == truth[p]) for p in range(len(truth)) if got[p][3] not in seeded]
    accuracy = sum(scored) / len(scored)
    chance = max(truth.count(i) for i in INTENTS) / len(truth)  # always the commonest intent
    print(
        f"\nneighbours k=10, {SEEDS_PER_INTENT} seeds per intent, {len(scored)} items: "
        f"accuracy {accuracy:.3f} (chance {chance:.3f}), {seconds:.1f}s"
    )
    # MiniLM reads English well and Chinese poorly (many characters are [UNK] to it): about
    # 0.58 on the English items, 0.31 on the Chinese ones, 0.44 in all
    assert accuracy > max(0.35, 2.5 * chance)
    assert {got[p][2] for p in got if got[p][3] not in seeded} == {"neighbours:k10"}
    assert all(0 < got[p][1] <= 1 for p in got if got[p][3] not in seeded)
    assert stored_config(store, "p") == {"source": "neighbours", "k": 10}

    # uncertainty first: a new annotator is served the least confident item, then the next
    queue = LabelQueue(store)
    unfinished = sorted(
        (got[p][1], p) for p in got if got[p][3] not in seeded
    )  # (confidence, position): the order the queue promises
    served = []
    for _ in range(5):
        item = queue.next_item("p", "ann")
        assert item is not None
        served.append((item.confidence, item.position))
        Annotations(store).submit("p", item.id, "ann", truth[item.position])
    assert served == unfinished[:5]
    assert served[0][0] == min(c for c, _ in unfinished)


def test_rerun_replaces_only_unfinished_items_and_needs_labels(
    store: Store, catalog: Catalog
) -> None:
    truth = register_intents(catalog, n=60)
    project = LabelProjects(store, catalog).create(
        "p", "intents", kind="classification", labels=list(INTENTS)
    )
    with pytest.raises(SuggestError, match="no labeled items to take neighbours from"):
        run_suggester(store, project, NeighbourSuggester())
    _seed(store, truth, 1)
    first = run_suggester(store, project, NeighbourSuggester(k=3))
    items = load_items(store, "p")
    target = next(i for i in items if not i.finished)
    Annotations(store).submit("p", target.id, "ann", truth[target.position])
    with store.session() as s:
        before = s.get_one(LabelItem, target.id).suggestion_source
        s.get_one(LabelItem, target.id).suggestion_source = "kept-as-shown"
    assert before == "neighbours:k3"
    second = run_suggester(store, project, NeighbourSuggester(k=3))
    assert second.considered == first.considered - 1  # the item just finished is left alone
    with store.session() as s:
        assert s.get_one(LabelItem, target.id).suggestion_source == "kept-as-shown"


def _suggester(kind: str, labels: list[str]) -> NeighbourSuggester:
    n = NeighbourSuggester(k=3)
    n.kind, n.labels = kind, labels
    return n


@pytest.mark.parametrize(
    ("kind", "labels", "votes", "value", "confidence"),
    [
        ("classification", ["a", "b"], [("a", 0.9), ("b", 0.6), ("b", 0.4)], "b", 0.526),
        ("preference", ["A", "B"], [("A", 0.8), ("A", 0.6), ("B", 0.6)], "A", 0.7),
        # ratings: weighted mean 3.9 rounds to 4; 0.5 of the weight said 4
        ("rating", [], [(4, 0.5), (5, 0.3), (1, 0.0001), (2, 0.2)], 4, 0.5),
        # multilabel: x in 100% of the weight, y in 25%: both fairly sure
        ("multilabel", ["x", "y"], [(["x"], 0.6), (["x", "y"], 0.2), (["x"], 0.0)], ["x"], 0.75),
    ],
)
def test_similarity_weighted_vote_per_kind(
    kind: str, labels: list[str], votes: list[tuple[Any, float]], value: Any, confidence: float
) -> None:
    got, conf = _suggester(kind, labels)._vote(votes)
    assert got == value
    assert conf == pytest.approx(confidence, abs=0.01)
