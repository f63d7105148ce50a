"""Per-channel event metrics of event sets: the ``metrics`` trailer value (spec §7.2).

isx's event detection stores nine statistics per cell (:data:`EVENT_METRIC_NAMES`);
this module reads them into a ``(channels, 9)`` table and builds the JSON value
isxcore stores from such a table.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import IsxFormatWarning, IsxWriteError
from ._fields import Fields, _describe

__all__ = ["EVENT_METRIC_NAMES", "event_metrics_json", "parse_event_metrics"]

#: Per-channel event metrics, in the order of a ``metrics`` entry (spec §7.2).
EVENT_METRIC_NAMES = ("snr", "mad", "eventRate", "eventAmpMedian", "eventAmpSD",
                      "riseMedian", "riseSD", "decayMedian", "decaySD")


def _metric_row(f: Fields, index: int, entry: Any) -> np.ndarray:
    """One ``metrics`` entry -> 9 float64 values (NaN for null; all NaN for ``{}``/null)."""
    key = f"metrics[{index}]"
    width = len(EVENT_METRIC_NAMES)
    row = np.full(width, np.nan)
    if entry is None or entry == {}:
        return row
    if not isinstance(entry, list):
        raise f.error("malformed event metrics entry", key=key,
                      expected=f"{{}}, null or an array of {width} numbers",
                      found=_describe(entry))
    if len(entry) < width:
        raise f.error("event metrics entry is too short", key=key,
                      expected=f"{width} numbers ({', '.join(EVENT_METRIC_NAMES)})",
                      found=f"{len(entry)} elements")
    if len(entry) > width:
        warnings.warn(f"{f.path}: {key} holds {len(entry)} values; only the first {width} "
                      "are known metrics (isx ignores the rest too)", IsxFormatWarning,
                      stacklevel=4)
    for j, value in enumerate(entry[:width]):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise f.error("wrong JSON type", key=f"{key}[{j}]",
                          expected=f"a number or null ({EVENT_METRIC_NAMES[j]})",
                          found=_describe(value))
        row[j] = float(value)
    return row


def parse_event_metrics(f: Fields, metrics: Any, num_channels: int) -> np.ndarray | None:
    """The ``metrics`` JSON value as a float64 array ``(num_channels, 9)``, or None.

    Columns follow :data:`EVENT_METRIC_NAMES`.  ``null`` values read as NaN, and so do
    channels whose entry is ``{}`` or null or that have no entry (isx's properties
    export prints 0 for those).  ``null`` or ``[]`` (no metrics at all) gives None.
    Entries past the last channel are ignored with a warning, as are values past the
    ninth; as in isxcore, an entry shorter than 9 values or holding a non-number is
    an error (:class:`~isxio.errors.IsxFormatError` naming the key).  Values are
    the stored (double) ones; isxcore narrows them to float32 when it reads them.
    """
    if metrics is None or (isinstance(metrics, list) and not metrics):
        return None
    if not isinstance(metrics, list):
        raise f.error("wrong JSON type", key="metrics", expected="null or an array",
                      found=_describe(metrics))
    if len(metrics) > num_channels:
        warnings.warn(f"{f.path}: metrics has {len(metrics)} entries for {num_channels} "
                      "channel(s); the extra entries are ignored", IsxFormatWarning,
                      stacklevel=3)
    out = np.full((num_channels, len(EVENT_METRIC_NAMES)), np.nan)
    for i, entry in enumerate(metrics[:num_channels]):
        out[i] = _metric_row(f, i, entry)
    return out


def _metrics_table(values: Any, num_channels: int) -> np.ndarray:
    """(channels, 9) float64 from an array-like or a mapping name -> per-channel values."""
    width = len(EVENT_METRIC_NAMES)
    if isinstance(values, Mapping):
        unknown = sorted(set(values) - set(EVENT_METRIC_NAMES))
        if unknown:
            raise IsxWriteError(f"unknown event metric(s) {unknown}; known: "
                                f"{list(EVENT_METRIC_NAMES)}")
        table = np.full((num_channels, width), np.nan)
        for j, name in enumerate(EVENT_METRIC_NAMES):
            if name in values:
                column = np.asarray(values[name], dtype=np.float64)
                if column.shape != (num_channels,):
                    raise IsxWriteError(f"metric {name!r} has shape {column.shape}; "
                                        f"expected ({num_channels},), one per channel")
                table[:, j] = column
        return table
    try:
        table = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise IsxWriteError(f"channel metrics must be numbers: {exc}") from None
    if table.shape != (num_channels, width):
        raise IsxWriteError(f"channel metrics have shape {table.shape}; expected "
                            f"({num_channels}, {width}): one row per channel, columns "
                            f"{', '.join(EVENT_METRIC_NAMES)}")
    return table


def event_metrics_json(values: Any, num_channels: int) -> list[Any]:
    """Per-channel metrics -> the ``metrics`` JSON value isxcore stores (spec §7.2).

    ``values`` is an array-like ``(num_channels, 9)`` (columns
    :data:`EVENT_METRIC_NAMES`) or a mapping metric name -> ``(num_channels,)``
    values (missing metrics are NaN).  NaN is written as ``null``; a channel whose
    metrics are all NaN is written ``{}`` (no metrics).  Infinite values are refused:
    the JSON dialect cannot hold them.
    """
    table = _metrics_table(values, num_channels)
    if np.isinf(table).any():
        raise IsxWriteError("channel metrics must be finite or NaN (JSON has no infinity)")
    return [{} if np.isnan(row).all() else
            [None if np.isnan(v) else float(v) for v in row] for row in table]
