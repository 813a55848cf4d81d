"""Evaluation stage: how good a model is."""

from modelmint.evaluation.perplexity import perplexity

__all__ = ["perplexity"]
