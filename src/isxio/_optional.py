"""Optional dependencies: import them on first use, or say which extra installs them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports", "require"]


def require(module: str, extra: str, what: str = "this feature") -> Any:
    """Import ``module``, or raise an ImportError naming the isxio extra that installs it.

    Parameters
    ----------
    module
        Module to import (``"roiextractors"``, ``"neuroconv"``, ...).
    extra
        The isxio extra that installs it (``"nwb"``, ``"video"``, ...).
    what
        The feature that needs it, for the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{what} needs the {module!r} package, which is not installed: "
                          f"pip install 'isxio[{extra}]'") from exc


def lazy_exports(package: str, modules: dict[str, str],
                 first: Callable[[], Any] | None = None
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` / ``__dir__`` for a package whose public names load on first use.

    Parameters
    ----------
    package
        The package's ``__name__``.
    modules
        Public name -> submodule of ``package`` defining it.
    first
        Called before a submodule is imported (e.g. a :func:`require` check).
    """

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if first is not None:
            first()
        value = getattr(importlib.import_module(f"{package}.{modules[name]}"), name)
        setattr(sys.modules[package], name, value)  # found directly from now on
        return value

    def __dir__() -> list[str]:
        return sorted([*vars(sys.modules[package]), *modules])

    return __getattr__, __dir__
