"""Shared helpers of the isx-compatible classes."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._io import is_url
from ..errors import IsxIndexError, IsxTypeError
from ..formats.container import read_trailer

#: ``type`` code -> isx display name (isxcore ``DataSet::Type``)
TYPE_NAMES = {0: "Movie", 1: "Cell Set", 2: "Behavioral Movie", 3: "GPIO", 4: "Image",
              5: "Event Set", 6: "Metrics", 7: "IMU", 8: "Vessel Set", 9: "nVision Movie"}
STATUS_NAMES = ("accepted", "undecided", "rejected")
STATUS_CODES = {name: code for code, name in enumerate(STATUS_NAMES)}


def fspath(path: Any) -> str:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"file_path must be a string or path, not {type(path).__name__}")
    path = os.fspath(path)
    if not is_url(path) and not os.path.exists(path):  # a URL is checked when opened
        raise FileNotFoundError(f"File does not exist: {path}")
    return path


def check_isxd_type(path: str, expected: tuple[int, ...], name: str) -> None:
    """Raise :class:`IsxTypeError` like isx if an ``.isxd`` file is not of the expected type."""
    if not path.lower().endswith(".isxd"):
        return
    kind = read_trailer(path).header.get("type")
    if kind not in expected:
        found = TYPE_NAMES.get(kind, str(kind)) if isinstance(kind, int) else repr(kind)
        raise IsxTypeError(path, f"Expected data set to be of type: {name}. "
                                 f"Instead it is of type: {found}.", key="type",
                           expected=" or ".join(str(e) for e in expected), found=kind)


def check_index(index: Any, count: int, what: str) -> int:
    """isx-style index check: non-negative and below ``count``."""
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise TypeError(f"{what} index must be an integer, not {type(index).__name__}")
    if not 0 <= int(index) < count:
        raise IsxIndexError(f"The index of the {what} ({index}) is out of range "
                            f"(0-{count - 1}).")
    return int(index)


def as_type(array: Any, dtype: Any) -> np.ndarray:
    """Convert like isx (which warns when it converts)."""
    import warnings

    arr = np.asarray(array)
    if arr.dtype != np.dtype(dtype):
        warnings.warn(f"Converting from {arr.dtype} to {np.dtype(dtype)}.", stacklevel=3)
        arr = arr.astype(dtype)
    return arr


def status_name(code: int) -> str:
    return STATUS_NAMES[code] if 0 <= code < 3 else str(code)


def status_code(status: str) -> int:
    try:
        return STATUS_CODES[status]
    except KeyError:
        raise ValueError(f"status must be one of {list(STATUS_NAMES)}, not {status!r}") from None
