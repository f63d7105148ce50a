"""``isxio validate``: structural integrity of Inscopix files.

A file is valid when its reader opens it (trailer / header, sizes checked against the
file's length) and every sample of its data can be read.  The first problem is
reported with the file and, when the reader knows it, the byte offset.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["check_file"]

#: frames / cells read at a time while reading a whole file
BLOCK = 256


def _read_all(array: Any) -> None:
    for start in range(0, int(array.shape[0]), BLOCK):
        np.asarray(array[start:start + BLOCK])


def _touch(reader: Any) -> None:
    """Read every sample the reader offers (blocks: memory stays bounded)."""
    for attr in ("data", "footprints", "traces"):
        array = getattr(reader, attr, None)
        if array is not None and hasattr(array, "shape") and len(array.shape):
            _read_all(array)
    if hasattr(reader, "all_channel_data"):
        reader.all_channel_data()
    elif hasattr(reader, "num_channels") and hasattr(reader, "channel_data"):
        for index in range(reader.num_channels):
            reader.channel_data(index)


def check_file(path: str | Path) -> str | None:
    """``None`` if ``path`` is intact, else one line: the file, what is wrong and where."""
    from ..api import open as open_file
    from ..errors import IsxFormatError, IsxFormatWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", IsxFormatWarning)
            reader = open_file(path)
            try:
                _touch(reader)
            finally:
                if hasattr(reader, "close"):
                    reader.close()
    except IsxFormatError as exc:
        return str(exc) if exc.path else f"{path}: {exc}"
    except IsxFormatWarning as exc:
        return str(exc)
    except Exception as exc:  # anything else a damaged file provokes, still one line
        text = " ".join(str(exc).split())
        return text if str(path) in text else f"{path}: {type(exc).__name__}: {text}"
    return None
