"""Serving stage: generate text from a model version, and score prompts (no HTTP here)."""

from modelmint.serving.engine import Completion, Engine
from modelmint.serving.generator import SamplingParams, TextDelta, TextGenerator, TokenizerInfo
from modelmint.serving.logprobs import PromptScores, TokenLogprob

__all__ = [
    "Completion",
    "Engine",
    "PromptScores",
    "SamplingParams",
    "TextDelta",
    "TextGenerator",
    "TokenLogprob",
    "TokenizerInfo",
]
