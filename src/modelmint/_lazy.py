"""Packages that import a submodule when one of its names is first used, not when the
package is imported.

Such a package's ``__init__`` imports its public names under ``if TYPE_CHECKING:``, lists
them in ``__all__`` and ends with ``lazy_exports(__name__)``. Type checkers and readers see
ordinary imports; at run time ``from modelmint.data import curate`` imports
``modelmint.data.curate`` then, and ``import modelmint.data.errors`` no longer imports every
other module of the stage (and torch, transformers or pyarrow with them) on the way.
Those ``TYPE_CHECKING`` imports are the one list of what the package exports and where
each name comes from.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def _exports(package: ModuleType) -> dict[str, str]:
    """Each exported name -> the submodule it comes from, as the package's ``if
    TYPE_CHECKING:`` block imports it."""
    assert package.__file__ is not None
    tree = ast.parse(Path(package.__file__).read_text(encoding="utf-8"))
    where: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    for alias in stmt.names:
                        where[alias.asname or alias.name] = stmt.module
    return where


class _LazyPackage(ModuleType):
    _lazy_exports: dict[str, str]

    def __getattr__(self, name: str) -> Any:  # only called for names not set yet
        module = self.__dict__["_lazy_exports"].get(name)
        if module is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(self, name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # Importing a submodule sets it on its package. Where the package exports a name
        # the submodule itself defines under the submodule's own name (the function
        # ``modelmint.data.curate`` of ``modelmint/data/curate.py``), the export stays what
        # the package's name means, as it did when the package imported it eagerly.
        if isinstance(value, ModuleType) and self._lazy_exports.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._lazy_exports})


def lazy_exports(package: str) -> None:
    """Makes ``package`` (its ``__name__``) import its exports on first use; call it last in
    the package's ``__init__``."""
    module = sys.modules[package]
    module.__dict__["_lazy_exports"] = _exports(module)
    module.__class__ = _LazyPackage
