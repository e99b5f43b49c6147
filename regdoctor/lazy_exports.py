"""Names a package exports but imports only when first used (PEP 562).

A package lists ``{name: submodule}`` and binds the two functions this returns as its
module-level ``__getattr__`` and ``__dir__``: ``from regdoctor.model import Report``
imports ``regdoctor.model.report`` then, not when ``regdoctor.model`` is imported, so a
command pays only for what it uses (start-up: ``benchmarks/README.md``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: an exported name is looked up in its
    submodule on first use and kept in the package's namespace (later uses are plain
    attribute reads)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # __import__, not importlib.import_module: `python -X importtime` then lists the
        # submodule (it sees imports made through the import statement's machinery only)
        __import__(f"{package}.{module}")
        value = getattr(sys.modules[f"{package}.{module}"], name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
