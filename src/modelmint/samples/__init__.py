"""The synthetic customer-service corpus that ``mint quickstart`` and ``mint data sample``
write, and that tests and benchmarks curate, train and evaluate on: an invented shop's chat
log in Chinese and English with intent and sentiment labels, duplicates and fake PII planted
on purpose (and listed, so the cleaning stages can be checked against them).

It is demo and test material, not a stage of the loop: nothing in the stages, the serving
engine or the gateway imports it. Its template tables are data, ``corpus.json``; the code
that fills them is :mod:`modelmint.samples.generator` and the modules it uses."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.samples.generator import (
        INTENTS,
        SENTIMENTS,
        SampleTruth,
        generate_sample_corpus,
        write_sample_corpus,
    )

__all__ = [
    "INTENTS",
    "SENTIMENTS",
    "SampleTruth",
    "generate_sample_corpus",
    "write_sample_corpus",
]

lazy_exports(__name__)
