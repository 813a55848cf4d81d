"""Data stage: sample corpus, ingest, split and version."""

from modelmint.data.ingest import DataError, IngestResult, ingest_dialogues, read_dialogues

__all__ = ["DataError", "IngestResult", "ingest_dialogues", "read_dialogues"]
