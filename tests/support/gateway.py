"""Settings for a gateway a test builds with ``build_gateway``: the test's own home (so the
artifacts dir is ``home / "artifacts"``) and key pepper, and no database or Redis taken from
the environment (the test passes its own store, and its own admission where it needs one)."""

from __future__ import annotations

from pathlib import Path

from modelmint.config import Settings


def gateway_settings(home: Path, pepper: bytes) -> Settings:
    return Settings(home=home, key_pepper=pepper.decode(), database_url=None, redis_url=None)
