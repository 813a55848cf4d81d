"""Serving stage: generate text from a model version (no HTTP here)."""

from modelmint.serving.engine import Completion, Engine
from modelmint.serving.generator import SamplingParams, TextDelta, TextGenerator

__all__ = ["Completion", "Engine", "SamplingParams", "TextDelta", "TextGenerator"]
