"""What runs a core: on a worker thread of the server's process, in a process of its own
(supervised and restarted), or upstream OpenAI-compatible servers (vLLM, SGLang, llama.cpp)
behind the same interface; and the throughput measurement
that drives one under load."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.serving.core.engine_core import (
        EngineConfig,
        EngineDied,
        EngineObserver,
        EngineOverloaded,
        QueueTimeout,
    )
    from modelmint.serving.drivers.process_engine import ProcessEngine
    from modelmint.serving.drivers.replicas import Replica, ReplicaSet
    from modelmint.serving.drivers.thread_engine import Engine
    from modelmint.serving.drivers.throughput import measure_model
    from modelmint.serving.drivers.upstream_engine import UpstreamEngine

__all__ = [
    "Engine",
    "EngineConfig",
    "EngineDied",
    "EngineObserver",
    "EngineOverloaded",
    "ProcessEngine",
    "QueueTimeout",
    "Replica",
    "ReplicaSet",
    "UpstreamEngine",
    "measure_model",
]

lazy_exports(__name__)
