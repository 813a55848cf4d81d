"""The open-weight checkpoints the export tests read, each built once for the whole run
(tests copy one before changing it)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from support.open_weights import build_checkpoint


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """family name -> its tiny checkpoint's directory, built on first use."""
    root = tmp_path_factory.mktemp("open-weights")

    @cache
    def get(family: str) -> Path:
        return build_checkpoint(family, root / family)

    return get
