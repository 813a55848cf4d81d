from collections.abc import Iterator

import pytest

from modelmint.serving import Engine, EngineConfig
from support.helpers import build_micro_model


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    e = Engine.load(build_micro_model(tmp_path_factory.mktemp("m")), config=EngineConfig(slots=4))
    yield e
    e.close()
