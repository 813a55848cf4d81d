"""Recipe files: validation with helpful errors, overrides, per-recipe defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelmint.training import RecipeError, load_recipe, parse_recipe

SFT = """
recipe: sft
name: bot
dataset: support
base: demo@production
method: lora
training:
  max_steps: 50
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


def test_a_recipe_loads_with_its_own_training_defaults(tmp_path: Path) -> None:
    r = load_recipe(write(tmp_path, SFT))
    assert r.recipe == "sft" and r.method == "lora" and r.lora.r == 16
    assert r.training.max_steps == 50
    assert r.training.learning_rate == 1e-4  # sft's default, not pretraining's 2e-3
    pre = parse_recipe({"recipe": "pretrain-clm", "name": "m", "dataset": "d"})
    assert pre.training.learning_rate == 2e-3


def test_unknown_key_is_named_with_the_closest_suggestion(tmp_path: Path) -> None:
    bad = SFT.replace("max_steps: 50", "max_steps: 50\n  lerning_rate: 0.1")
    with pytest.raises(RecipeError) as e:
        load_recipe(write(tmp_path, bad))
    assert "training.lerning_rate" in str(e.value)
    assert "did you mean 'learning_rate'" in str(e.value)
    assert str(tmp_path / "r.yaml") in str(e.value)
    with pytest.raises(RecipeError, match="did you mean 'method'"):
        load_recipe(write(tmp_path, SFT + "methd: full\n"))


def test_set_overrides_nested_keys_with_yaml_values(tmp_path: Path) -> None:
    path = write(tmp_path, SFT)
    r = load_recipe(path, ["training.learning_rate=3e-5", "lora.r=4", "method=full"])
    assert r.training.learning_rate == 3e-5 and r.lora.r == 4 and r.method == "full"
    with pytest.raises(RecipeError, match=r"key\.sub=value"):
        load_recipe(path, ["nonsense"])
    with pytest.raises(RecipeError, match=r"unknown key 'training\.max_stpes'"):
        load_recipe(path, ["training.max_stpes=3"])


def test_wrong_kind_values_and_missing_keys_are_explained(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="must be one of pretrain-clm"):
        parse_recipe({"recipe": "finetune", "name": "m", "dataset": "d"})
    with pytest.raises(RecipeError, match="missing key 'base'"):
        parse_recipe({"recipe": "sft", "name": "m", "dataset": "d"})
    with pytest.raises(RecipeError, match="method"):
        parse_recipe({"recipe": "sft", "name": "m", "dataset": "d", "base": "x", "method": "qlora"})
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(write(tmp_path, "recipe: [sft"))
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "nope.yaml")


def test_shipped_example_recipes_are_valid() -> None:
    shipped = sorted(Path(__file__).parents[2].joinpath("recipes").glob("*.yaml"))
    assert {p.stem for p in shipped} >= {
        "pretrain-clm",
        "pretrain-mlm",
        "continue",
        "sft",
        "sft-lora",
        "classify-minilm",
    }
    for p in shipped:
        load_recipe(p)
