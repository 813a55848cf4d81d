"""Training stage: tokenizers, and models from YAML recipes on the Hugging Face Trainer."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.training.examples import pack_blocks
    from modelmint.training.memory import MemoryEstimate, estimate
    from modelmint.training.recipe import RECIPES, RecipeError, load_recipe, parse_recipe
    from modelmint.training.runner import TrainOutcome, resume_training, start_training
    from modelmint.training.tokenizer import TokenizerResult, train_tokenizer

__all__ = [
    "RECIPES",
    "MemoryEstimate",
    "RecipeError",
    "TokenizerResult",
    "TrainOutcome",
    "estimate",
    "load_recipe",
    "pack_blocks",
    "parse_recipe",
    "resume_training",
    "start_training",
    "train_tokenizer",
]

lazy_exports(__name__)
