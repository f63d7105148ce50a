"""nVista 2 ``.hdf5`` GPIO files: nibble-coded auxiliary data (needs h5py).

Spec ``other.md`` §2.3.  ``anc_data`` holds 15 words per frame, ``anc_data_count``
how many of them are used; each word carries four 1 kHz samples of the four
digital channels, low nibble first.  :func:`read_nvista2` returns the converted
packets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import require
from ..errors import IsxFormatError
from ._isxratio import time_plus
from .common import Ratio, Time
from .events_packets import DENSE, PACKET_DTYPE
from .gpiodata import US

__all__ = ["NVISTA2_NAMES", "read_nvista2"]

NVISTA2_NAMES = ("IO1", "IO2", "sync", "trigger")
ANC_COLUMNS = 15


def _h5_datasets(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``timeStamp``/``timestamp``, ``anc_data`` and ``anc_data_count`` of an nVista 2 file."""
    h5py = require("h5py", "hdf5", "reading nVista 2 .hdf5 GPIO files")
    try:
        with h5py.File(path, "r") as f:
            name = next((n for n in ("timeStamp", "timestamp") if n in f), None)
            ts = np.asarray(f[name][()], np.float64).ravel() if name else np.zeros(0)
            if not len(ts):
                raise IsxFormatError(path, "The file does not contain any GPIO data: no "
                                     "timestamps", key="timeStamp")
            anc = np.asarray(f["anc_data"][()], np.uint16).ravel()
            count = f["anc_data_count"]
            size = count.dtype.itemsize
            counts = np.asarray(count[()]).ravel()
    except (OSError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, IsxFormatError):
            raise
        raise IsxFormatError(path, f"not a readable nVista 2 GPIO file ({exc})") from None
    counts = counts.astype(np.int64) & 0xFF if size in (1, 4) else np.zeros(0, np.int64)
    return ts, anc, counts[:len(ts)]


def read_nvista2(path: str, strict: bool) -> dict[str, Any]:
    """nVista 2 GPIO (spec §2.3): 4 nibble-coded DENSE channels at 1 kHz."""
    ts, anc, counts = _h5_datasets(path)
    rows = np.repeat(np.arange(len(counts)) * ANC_COLUMNS, counts)
    cols = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = rows + cols
    if len(idx) and idx.max() >= len(anc):
        raise IsxFormatError(path, "anc_data_count points past the end of anc_data",
                             key="anc_data_count", expected=f"<= {len(anc)} words",
                             found=f"word {int(idx.max())}")
    words = anc[idx].astype(np.int64)
    nibbles = ((words[:, None] >> (4 * np.arange(4))) & 0xF).ravel()  # low nibble first
    n = len(nibbles)
    packets = np.zeros(4 * n, PACKET_DTYPE)
    packets["offset"] = np.tile(np.arange(n, dtype=np.uint64) * np.uint64(1000), 4)
    packets["signal"] = np.repeat(np.arange(4, dtype=np.uint64), n)
    packets["value"] = ((nibbles[None, :] >> np.arange(4)[:, None]) & 1).ravel()
    start = Time(Ratio(int(ts[0] * 1e6), US), 0)
    step = Ratio(1000, US)
    return dict(kind="nvista2", channel_names=list(NVISTA2_NAMES), signal_types=[DENSE] * 4,
                channel_steps=[step] * 4, packets=packets, start=start,
                end=time_plus(start, (1000 * n, US)), extra_properties=None, file_format=None)
