"""Serving stage: generate text from model versions with continuous batching, score prompts,
embed texts (no HTTP here).

This front door holds what an engine takes and gives (the protocol, sampling parameters, prompt
scores, the text codec) and the engines themselves. Behind it: ``core`` (the scheduler and the
engine core: no threads, no I/O), ``drivers`` (the threads and processes that run a core,
and the engine that forwards to upstream servers such as vLLM), ``models`` (the model code a
core runs) and ``kernels`` (native code for the hot loops)."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.serving.drivers import (
        Engine,
        EngineConfig,
        EngineDied,
        EngineObserver,
        EngineOverloaded,
        ProcessEngine,
        QueueTimeout,
        Replica,
        ReplicaSet,
        UpstreamEngine,
    )
    from modelmint.serving.logprobs import PromptScores, TokenLogprob, TokenTexts
    from modelmint.serving.models.embeddings import Embedder, Embeddings
    from modelmint.serving.protocol import Completion, TextDelta, TextEngine, collect
    from modelmint.serving.sampler import InvalidSampling, SamplingParams
    from modelmint.serving.text import TextCodec, TokenizerInfo

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
    "Replica",
    "ReplicaSet",
    "SamplingParams",
    "TextCodec",
    "TextDelta",
    "TextEngine",
    "TokenLogprob",
    "TokenTexts",
    "TokenizerInfo",
    "UpstreamEngine",
    "collect",
]

lazy_exports(__name__)
