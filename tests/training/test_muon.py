"""Muon on the body's matrices and AdamW on the rest, as the Trainer's one optimizer."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from modelmint.training.muon import MuonWithAdamW, orthogonalize
from modelmint.training.recipe import TrainingSpec
from modelmint.training.trainer import muon_optimizer
from support.serving import tiny_llama


def _micro_llama() -> torch.nn.Module:
    torch.manual_seed(0)
    return tiny_llama(tie_word_embeddings=True)


@pytest.mark.parametrize("shape", [(24, 80), (80, 24), (40, 40)])
def test_orthogonalize_gives_singular_values_near_one(shape: tuple[int, int]) -> None:
    g = torch.Generator().manual_seed(0)
    update = torch.randn(shape, generator=g) * torch.logspace(-1, 0, shape[1])  # 10x spread
    ortho = orthogonalize(update)
    singular = torch.linalg.svdvals(ortho)
    assert ortho.shape == update.shape
    assert singular.min() > 0.5 and singular.max() < 1.5, singular
    # the same directions as the update: its projection on the update is positive
    assert (ortho * update).sum() > 0


def test_the_body_s_linear_layers_go_to_muon_and_the_rest_to_adamw() -> None:
    model = _micro_llama()
    spec = TrainingSpec(optimizer="muon", learning_rate=3e-3, muon_learning_rate=0.05)
    opt = muon_optimizer(model, spec)
    names = {id(p): n for n, p in model.named_parameters()}
    by_kind = {
        kind: sorted(
            names[id(p)] for g in opt.param_groups if g["muon"] == kind for p in g["params"]
        )
        for kind in (True, False)
    }
    assert len(by_kind[True]) == 2 * 7  # q, k, v, o, gate, up, down in each of 2 layers
    assert all(n.endswith("_proj.weight") for n in by_kind[True])
    assert "model.embed_tokens.weight" in by_kind[False]  # also the tied output head
    assert all("norm" in n or n == "model.embed_tokens.weight" for n in by_kind[False])
    # the Trainer logs the first group's rate: the recipe's learning_rate
    assert opt.param_groups[0]["lr"] == 3e-3 and not opt.param_groups[0]["muon"]
    assert [g["lr"] for g in opt.param_groups if g["muon"]] == [0.05]
    no_decay = [p for g in opt.param_groups if g["weight_decay"] == 0 for p in g["params"]]
    assert no_decay and all(p.ndim == 1 for p in no_decay)


def test_a_classifier_s_head_stays_on_adamw() -> None:
    config = BertConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=48,
        num_labels=3,
    )
    model = BertForSequenceClassification(config)
    opt = muon_optimizer(model, TrainingSpec(optimizer="muon"))
    muon = {id(p) for g in opt.param_groups if g["muon"] for p in g["params"]}
    assert id(model.classifier.weight) not in muon
    assert id(model.bert.encoder.layer[0].attention.self.query.weight) in muon
    assert id(model.bert.embeddings.word_embeddings.weight) not in muon


def test_muon_takes_only_matrices() -> None:
    with pytest.raises(ValueError, match="weight matrices only"):
        MuonWithAdamW([{"params": [torch.nn.Parameter(torch.zeros(3))], "muon": True, "lr": 1}])
    with pytest.raises(ValueError, match="muon: True or False"):
        MuonWithAdamW([{"params": [torch.nn.Parameter(torch.zeros(3))], "lr": 1}])


def _steps(
    model: torch.nn.Module, opt: torch.optim.Optimizer, batches: list[torch.Tensor]
) -> float:
    loss = torch.tensor(0.0)
    for x in batches:
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return float(loss.detach())


def test_it_learns_and_resumes_exactly_from_its_state_dict() -> None:
    g = torch.Generator().manual_seed(1)
    batches = [torch.randint(0, 97, (4, 16), generator=g) for _ in range(3)] * 4
    spec = TrainingSpec(optimizer="muon", learning_rate=1e-2, muon_learning_rate=0.05)

    straight = _micro_llama()
    opt = muon_optimizer(straight, spec)
    with torch.no_grad():
        first = float(straight(input_ids=batches[0], labels=batches[0]).loss)
    last = _steps(straight, opt, batches)
    assert last < first - 0.5  # it memorizes three batches

    # interrupted after 5 steps: weights and optimizer state through a state_dict
    resumed = _micro_llama()
    opt_a = muon_optimizer(resumed, spec)
    _steps(resumed, opt_a, batches[:5])
    saved_model, saved_opt = copy.deepcopy(resumed.state_dict()), copy.deepcopy(opt_a.state_dict())
    restarted = _micro_llama()
    restarted.load_state_dict(saved_model)
    opt_b = muon_optimizer(restarted, spec)
    opt_b.load_state_dict(saved_opt)
    _steps(restarted, opt_b, batches[5:])
    for (name, a), b in zip(
        straight.state_dict().items(), restarted.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
