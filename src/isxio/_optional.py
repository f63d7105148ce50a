"""Optional dependencies: import them on first use, or say which extra installs them."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["require"]


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
