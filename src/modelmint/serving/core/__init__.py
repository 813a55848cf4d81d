"""The engine's core: which sequences run in the next step (the scheduler), the prefix cache,
and one step of continuous batching, with no threads and no I/O, so it is tested directly and
driven from outside."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.serving.core.detokenize import IncrementalDecoder
    from modelmint.serving.core.engine_core import EngineCore, NoObserver, load_runner
    from modelmint.serving.core.prefix_cache import PrefixCache
    from modelmint.serving.core.scheduler import Scheduled, Scheduler

__all__ = [
    "EngineCore",
    "IncrementalDecoder",
    "NoObserver",
    "PrefixCache",
    "Scheduled",
    "Scheduler",
    "load_runner",
]

lazy_exports(__name__)
