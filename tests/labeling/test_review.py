"""Gold items, agreement over the database, the review queue and a reviewer's decision
winning on export; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select
from typer.testing import CliRunner

from modelmint.catalog import Catalog
from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.labeling import Annotations, LabelingError, LabelProjects, final_labels
from modelmint.labeling.export import export_labels
from modelmint.labeling.review import Review
from modelmint.store import LabelItem, Store
from support.labeling import register_tiny

LABELS = ["refund", "shipping", "account"]
# two annotators over the six tickets; they split on items 2 and 5 (positions)
WANG = ["refund", "refund", "shipping", "shipping", "account", "account"]
LI = ["refund", "refund", "refund", "shipping", "account", "shipping"]


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    c = Catalog(store, tmp_path / "artifacts")
    register_tiny(c)
    return c


@pytest.fixture
def ids(store: Store, catalog: Catalog) -> list[int]:
    """Item ids by position, of project "p" (overlap 2) labeled by 王芳 and Li."""
    LabelProjects(store, catalog).create("p", "tickets", labels=LABELS, overlap=2)
    item_ids = _item_ids(store)
    notes = Annotations(store)
    for item_id, a, b in zip(item_ids, WANG, LI, strict=True):
        notes.submit("p", item_id, "王芳", a)
        notes.submit("p", item_id, "Li", b)
    return item_ids


def _item_ids(store: Store) -> list[int]:
    with store.session() as s:
        return list(s.scalars(select(LabelItem.id).order_by(LabelItem.position)))


def test_agreement_reads_the_annotations_table(store: Store, ids: list[int]) -> None:
    report = Review(store).agreement("p")
    assert report.items == 6 and report.annotators == ["Li", "王芳"]
    (pair,) = report.pairs
    assert pair.kappa == pytest.approx(cohen_kappa_score(LI, WANG))
    assert report.accuracy == {}  # no gold yet
    assert sorted(d.item for d in report.review) == [ids[2], ids[5]]


def test_gold_from_column_measures_annotators(
    store: Store, catalog: Catalog, ids: list[int]
) -> None:
    res = Review(store).gold_from_column("p", catalog, "labels.intent")
    assert (res.marked, res.skipped) == (6, 0)
    acc = Review(store).agreement("p").accuracy
    # the tiny dataset's intents are WANG's labels exactly
    assert (acc["王芳"].correct, acc["王芳"].total) == (6, 6)
    assert (acc["Li"].correct, acc["Li"].total) == (4, 6)


def test_gold_from_file_by_position_and_external_id(
    store: Store, ids: list[int], tmp_path: Path
) -> None:
    f = tmp_path / "gold.jsonl"
    f.write_text(
        json.dumps({"position": 2, "gold": "shipping"})
        + "\n\n"
        + json.dumps({"external_id": "r6", "gold": "account"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    assert Review(store).gold_from_file("p", f).marked == 2
    assert Review(store).gold("p") == {ids[2]: "shipping", ids[5]: "account"}
    acc = Review(store).agreement("p").accuracy
    assert (acc["Li"].correct, acc["Li"].total) == (0, 2)
    assert acc["王芳"].accuracy == 1.0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '{"position": 99, "gold": "refund"}',
            r"gold.jsonl:2: project 'p' has no item with position 99",
        ),
        ('{"position": 0, "gold": "退款"}', r"gold.jsonl:2: gold value '退款'"),
        ('{"gold": "refund"}', r"gold.jsonl:2: say which item"),
        ("not json", r"gold.jsonl:2: not JSON"),
    ],
)
def test_bad_gold_file_names_file_and_line(
    store: Store, ids: list[int], tmp_path: Path, line: str, message: str
) -> None:
    f = tmp_path / "gold.jsonl"
    f.write_text('{"position": 1, "gold": "refund"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(LabelingError, match=message):
        Review(store).gold_from_file("p", f)
    assert Review(store).gold("p") == {}  # nothing marked from a bad file


def test_gold_from_missing_column_is_clear(store: Store, catalog: Catalog, ids: list[int]) -> None:
    with pytest.raises(LabelingError, match=r"no column 'intent'.*labels\.KEY"):
        Review(store).gold_from_column("p", catalog, "intent")


def test_queue_lists_disagreements_and_a_reviewer_decides(
    store: Store, catalog: Catalog, ids: list[int]
) -> None:
    review = Review(store)
    queue = review.queue("p")
    assert [q.item_id for q in queue] == [ids[2], ids[5]]
    assert queue[0].tie and queue[0].majority_share == 0.5
    assert queue[0].labels == {"王芳": "shipping", "Li": "refund"}
    assert queue[0].content == {"text": "Where is my package?"}
    assert final_labels(store, "p").ties == [ids[2], ids[5]]

    res = review.resolve("p", ids[2], "陈主管", "shipping")
    assert (res.reviewer, res.replaced) == ("review:陈主管", False)
    assert [q.item_id for q in review.queue("p")] == [ids[5]]
    again = review.resolve("p", ids[2], "陈主管", "account")
    assert again.replaced
    final = final_labels(store, "p")
    assert final.labels[ids[2]] == "account" and final.reviewed == [ids[2]]
    assert final.ties == [ids[5]]
    # the reviewer is not an annotator in agreement
    assert Review(store).agreement("p").annotators == ["Li", "王芳"]

    out = export_labels(store, catalog, "p", "resolved")
    assert (out.exported, out.ties) == (5, 1)
    rows = out.dataset.read_split("train")
    assert [r["label"] for r in rows] == ["refund", "refund", "account", "shipping", "account"]


def test_a_decision_wins_over_a_majority(store: Store, ids: list[int]) -> None:
    Review(store).resolve("p", ids[0], "boss", "account")
    assert final_labels(store, "p").labels[ids[0]] == "account"


def test_threshold_selects_low_agreement_items(store: Store, catalog: Catalog) -> None:
    LabelProjects(store, catalog).create("t", "tickets", labels=LABELS, overlap=3)
    item = _item_ids(store)[0]
    notes = Annotations(store)
    for who, v in [("a", "refund"), ("b", "refund"), ("c", "shipping")]:
        notes.submit("t", item, who, v)
    assert [q.item_id for q in Review(store).queue("t")] == [item]
    assert Review(store).queue("t", threshold=0.6) == []  # 2/3 agree: not low enough


def test_reviewer_names_are_not_annotators(store: Store, ids: list[int]) -> None:
    with pytest.raises(LabelingError, match="reviewers'"):
        Annotations(store).submit("p", ids[0], "review:me", "refund")
    with pytest.raises(LabelingError, match="one of"):
        Review(store).resolve("p", ids[0], "me", "退款")
    with pytest.raises(LabelingError, match="not in project"):
        Review(store).resolve("p", 10_000, "me", "refund")


def test_cli_gold_agreement_review_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    rt = Runtime.open()
    register_tiny(rt.catalog)
    LabelProjects(rt.store, rt.catalog).create("p", "tickets", labels=LABELS, overlap=2)
    item_ids = _item_ids(rt.store)
    for item_id, a, b in zip(item_ids, WANG, LI, strict=True):
        Annotations(rt.store).submit("p", item_id, "王芳", a)
        Annotations(rt.store).submit("p", item_id, "Li", b)
    runner = CliRunner()
    r = runner.invoke(app, ["label", "gold", "p", "--column", "labels.intent"])
    assert r.exit_code == 0 and "6 gold items marked" in r.output, r.output
    r = runner.invoke(app, ["label", "agreement", "p", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["pairs"][0]["kappa"] == pytest.approx(cohen_kappa_score(LI, WANG))
    assert report["accuracy"]["Li"] == {"correct": 4, "total": 6, "accuracy": 4 / 6}
    table = runner.invoke(app, ["label", "agreement", "p"]).output
    assert "Cohen's kappa" in table and "王芳" in table and "2 items disagree" in table
    r = runner.invoke(app, ["label", "review", "p"])
    assert r.exit_code == 0 and "2 items to review" in r.output, r.output
    assert "Where is my package?" in r.output
    r = runner.invoke(
        app, ["label", "resolve", "p", str(item_ids[2]), "shipping", "--reviewer", "陈"]
    )
    assert r.exit_code == 0 and "resolved item" in r.output and "review:陈" in r.output, r.output
    assert "1 items to review" in runner.invoke(app, ["label", "review", "p"]).output
    r = runner.invoke(app, ["label", "gold", "p"])
    assert r.exit_code == 1 and "give one of --file F or --column C" in r.output
    r = runner.invoke(app, ["label", "resolve", "p", str(item_ids[2]), "退款"])
    assert r.exit_code == 1 and "one of" in r.output
