"""Packages that import their submodules on first use (modelmint._lazy) export what their
``__all__`` says, the same objects as before, whatever was imported first."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

LAZY = [
    "modelmint.catalog",
    "modelmint.commerce",
    "modelmint.commerce.accounts",
    "modelmint.commerce.admission",
    "modelmint.commerce.economics",
    "modelmint.commerce.ledger",
    "modelmint.commerce.pricing",
    "modelmint.compression",
    "modelmint.config",
    "modelmint.data",
    "modelmint.evaluation",
    "modelmint.labeling",
    "modelmint.modeling",
    "modelmint.samples",
    "modelmint.serving",
    "modelmint.serving.core",
    "modelmint.serving.drivers",
    "modelmint.serving.kernels",
    "modelmint.serving.models",
    "modelmint.training",
]


@pytest.mark.parametrize("name", LAZY)
def test_every_name_in_all_resolves_to_its_submodules_object(name: str) -> None:
    package = importlib.import_module(name)
    where = package.__dict__["_lazy_exports"]
    assert sorted(where) == sorted(package.__all__)
    for attr in package.__all__:
        value = getattr(package, attr)
        assert value is getattr(importlib.import_module(where[attr]), attr), attr
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        package.nothing  # noqa: B018


def test_a_function_named_as_its_module_stays_the_function() -> None:
    """``modelmint.data.curate`` (the function) lives in ``modelmint/data/curate.py``:
    importing the submodule first must not make the package's name the module."""
    code = (
        "import modelmint.data.curate, modelmint.evaluation.perplexity\n"
        "from modelmint.data import curate\n"
        "from modelmint.evaluation import perplexity\n"
        "import modelmint.data, modelmint.evaluation\n"
        "assert callable(curate) and curate.__module__ == 'modelmint.data.curate'\n"
        "assert callable(perplexity) and modelmint.data.curate is curate\n"
        "assert modelmint.evaluation.perplexity is perplexity\n"
        "assert sys.modules['modelmint.data.curate'].curate is curate\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_importing_a_package_imports_none_of_its_submodules() -> None:
    code = (
        "import sys\n"
        f"for name in {LAZY!r}:\n"
        "    __import__(name)\n"
        "print(sorted(m for m in sys.modules if m.count('.') > 1 and m.startswith('modelmint.')"
        " and m.rsplit('.', 1)[0] in " + repr(LAZY) + " and m not in " + repr(LAZY) + "))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
