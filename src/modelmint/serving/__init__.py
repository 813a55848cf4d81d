"""Serving stage: generate text from model versions with continuous batching, score
prompts, embed texts (no HTTP here)."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.serving.embeddings import Embedder, Embeddings
    from modelmint.serving.engine import (
        Engine,
        EngineConfig,
        EngineDied,
        EngineObserver,
        EngineOverloaded,
        QueueTimeout,
    )
    from modelmint.serving.engine_process import ProcessEngine
    from modelmint.serving.logprobs import PromptScores, TokenLogprob
    from modelmint.serving.protocol import Completion, TextDelta, TextEngine
    from modelmint.serving.sampler import InvalidSampling, SamplingParams
    from modelmint.serving.text import TextCodec, TokenizerInfo
    from modelmint.serving.vllm_engine import VllmConfig, VllmEngine, vllm_available

__all__ = [
    "Completion",
    "Embedder",
    "Embeddings",
    "Engine",
    "EngineConfig",
    "EngineDied",
    "EngineObserver",
    "EngineOverloaded",
    "InvalidSampling",
    "ProcessEngine",
    "PromptScores",
    "QueueTimeout",
    "SamplingParams",
    "TextCodec",
    "TextDelta",
    "TextEngine",
    "TokenLogprob",
    "TokenizerInfo",
    "VllmConfig",
    "VllmEngine",
    "vllm_available",
]

lazy_exports(__name__)
