"""Suggestions from a modelmint classifier: a tiny one trained by the classify recipe (two
steps from the bundled MiniLM on the six tickets), and a multilabel head built in place."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from modelmint.catalog import Catalog, ModelRef
from modelmint.labeling import LabelProjects, LabelQueue
from modelmint.labeling.suggest import SuggestError, load_items, run_suggester, stored_config
from modelmint.labeling.suggest_classifier import ClassifierSuggester
from modelmint.modeling.encoders import minilm_path
from modelmint.store import LabelItem, Store
from modelmint.training import parse_recipe, start_training
from support.labeling import register_tiny

LABELS = ["refund", "shipping", "account"]


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    c = Catalog(store, tmp_path / "artifacts")
    register_tiny(c)
    return c


def _train(catalog: Catalog) -> ModelRef:
    recipe = {
        "recipe": "classify",
        "name": "intent",
        "dataset": "tickets",
        "base": "minilm",
        "max_length": 32,
        "training": {"max_steps": 2, "batch_size": 6, "warmup_steps": 0},
    }
    outcome = start_training(catalog, parse_recipe(recipe))
    assert outcome.model is not None and outcome.model.kind == "classifier"
    return outcome.model


def _suggestions(store: Store, project_id: int) -> list[tuple[object, float | None, str | None]]:
    with store.session() as s:
        rows = s.query(LabelItem).filter(LabelItem.project_id == project_id)
        return [(r.suggestion, r.confidence, r.suggestion_source) for r in rows]


def test_classifier_suggests_its_labels_and_refuses_labels_it_does_not_know(
    store: Store, catalog: Catalog
) -> None:
    model = _train(catalog)
    # the model knows refund/shipping/account; the project asks for them in another order
    project = LabelProjects(store, catalog).create(
        "p", "tickets", kind="classification", labels=["shipping", "account", "refund"]
    )
    suggester = ClassifierSuggester(catalog, "intent")  # newest version
    assert sorted(suggester.classes) == sorted(LABELS)
    result = run_suggester(store, project, suggester)
    assert (result.considered, result.suggested, result.unparseable) == (6, 6, 0)
    got = _suggestions(store, project.id)
    assert {v for v, _, _ in got} <= set(suggester.classes)
    assert all(c is not None and 0 < c <= 1 for _, c, _ in got)
    assert {src for _, _, src in got} == {f"classifier:{model.label}"}
    assert stored_config(store, "p") == {"source": "classifier", "model": model.label}
    # uncertainty first, and the suggestion is shown with the item
    item = LabelQueue(store).next_item("p", "ann")
    assert item is not None and item.confidence == min(c for _, c, _ in got if c is not None)
    assert item.suggestion in LABELS

    other = LabelProjects(store, catalog).create(
        "q", "tickets", kind="classification", labels=["refund", "billing", "spam"]
    )
    with pytest.raises(
        SuggestError, match=r"does not know the project's labels \['billing', 'spam'\]"
    ):
        run_suggester(store, other, ClassifierSuggester(catalog, model.label))
    with pytest.raises(SuggestError, match="no model ghost"):
        ClassifierSuggester(catalog, "ghost")


def _multilabel_model(catalog: Catalog, tmp_path: Path) -> ModelRef:
    """A random two-layer BERT over MiniLM's tokenizer with a multi-label head."""
    out = tmp_path / "ml"
    tok = AutoTokenizer.from_pretrained(str(minilm_path()), local_files_only=True)
    config = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
        id2label=dict(enumerate(LABELS)),
        label2id={v: i for i, v in enumerate(LABELS)},
        problem_type="multi_label_classification",
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    staged = catalog.staging_dir("model")
    for f in out.iterdir():
        (staged / f.name).write_bytes(f.read_bytes())
    return catalog.add_model_version(
        "ml", staged, run_id=None, kind="classifier", num_parameters=1, metrics={}
    )


def test_multilabel_is_sigmoid_per_label_with_distance_from_half(
    store: Store, catalog: Catalog, tmp_path: Path
) -> None:
    model = _multilabel_model(catalog, tmp_path)
    project = LabelProjects(store, catalog).create("m", "tickets", kind="multilabel", labels=LABELS)
    suggester = ClassifierSuggester(catalog, model.label)
    suggester.prepare(project, [])
    items = load_items(store, "m")
    enc = suggester.tokenizer([i.text for i in items], padding=True, return_tensors="pt")
    with torch.no_grad():
        probs = suggester.model(**enc).logits.sigmoid()
    proposals = suggester.suggest(items)
    for p, row in zip(proposals, probs, strict=True):
        assert p.value == [label for label, q in zip(LABELS, row, strict=True) if q >= 0.5]
        assert p.confidence == pytest.approx(float(((row - 0.5).abs() * 2).mean()), abs=1e-5)
    result = run_suggester(store, project, suggester)
    assert result.suggested == 6
    assert all(isinstance(v, list) for v, _, _ in _suggestions(store, project.id))
