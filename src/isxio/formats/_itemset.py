"""What cell sets and vessel sets share: per-item names, statuses, colours and activity.

Spec ``isxd.md`` §6.2 and §8.3.  Both kinds list one name, status (0 accepted,
1 undecided, 2 rejected), packed ARGB colour and activity flag per item (cell or
vessel) in their trailer.  This module holds the JSON parsing helpers, the reader
properties, the writer base and the in-place status edit used by
:mod:`~isxio.formats.cellset` and :mod:`~isxio.formats.vesselset`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import IsxWriteError
from ..metadata import CellStatus, Rgba, rgba
from ._base import IsxdWriter, checked_timing
from ._fields import Fields, _describe
from .common import SpacingInfo, TimingInfo
from .container import ISX_PRODUCER, rewrite_trailer

__all__ = ["STATUS_NAMES", "WHITE", "ItemSetMetadata", "ItemSetWriter", "fill_empty_names",
           "merged_statuses", "pack_color", "rewrite_statuses", "status_code", "unpack_colors"]

FILE_VERSION = 5  #: the ``fileVersion`` isx 2.1.0 writes
STATUS_NAMES = ("accepted", "undecided", "rejected")  #: status code -> name
UNDECIDED = 1
WHITE = 0xFFFFFFFF  #: default colour, opaque white (packed ARGB)
UINT32_MAX = 2**32 - 1
FLOAT32_NAN = np.float32(np.nan)  # bit pattern 0x7fc00000, what isx stores


# ---------------------------------------------------------------------- values
def status_code(value: int | str, what: str = "cell") -> int:
    """Status code (0, 1, 2) of ``value``: a code or 'accepted'/'undecided'/'rejected'."""
    if isinstance(value, str):
        try:
            return STATUS_NAMES.index(value.lower())
        except ValueError:
            pass
    elif isinstance(value, int | np.integer) and not isinstance(value, bool) \
            and 0 <= int(value) <= 2:
        return int(value)
    raise IsxWriteError(f"invalid {what} status {value!r}; expected one of {STATUS_NAMES} "
                        "or 0, 1, 2")


def pack_color(value: int | Sequence[int]) -> int:
    """Packed ARGB colour of ``value``: a uint32, or ``(r, g, b)`` / ``(r, g, b, a)`` bytes."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        if 0 <= int(value) <= UINT32_MAX:
            return int(value)
    elif isinstance(value, Sequence) and len(value) in (3, 4) \
            and all(isinstance(c, int | np.integer) and 0 <= int(c) <= 255 for c in value):
        r, g, b, a = (*(int(c) for c in value), 255)[:4]
        return (a << 24) | (r << 16) | (g << 8) | b
    raise IsxWriteError(f"invalid colour {value!r}; expected a uint32 ARGB value or "
                        "(r, g, b[, a]) bytes")


def unpack_colors(colors: Sequence[int]) -> np.ndarray:
    """Packed ARGB colours as a ``(n, 4)`` uint8 array of ``(r, g, b, a)``."""
    argb = np.asarray(colors, dtype=np.uint32).reshape(-1)
    shifts = np.array([16, 8, 0, 24], dtype=np.uint32)
    return ((argb[:, None] >> shifts) & 0xFF).astype(np.uint8)


def fill_empty_names(names: Sequence[str], prefix: str) -> list[str]:
    """Replace empty names as isxcore does when it saves a trailer (spec §6.2).

    An empty name becomes ``prefix`` + index, zero-padded to the number of digits of
    ``len(names) - 1`` when there are more than 10 names (12 cells: ``C00``...``C11``).
    """
    n = len(names)
    width = len(str(n - 1)) if n > 10 else 1
    return [name if name else f"{prefix}{i:0{width}d}" for i, name in enumerate(names)]


def as_float32(values: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``values`` as a new flat little-endian float32 array; its shape must be ``shape``
    or flat with the same number of elements."""
    arr = np.asarray(values)
    size = int(np.prod(shape, dtype=np.int64))
    if arr.shape != shape and arr.shape != (size,):
        raise IsxWriteError(f"{what} has shape {arr.shape}; expected {shape}")
    if arr.dtype.kind not in "fiub":
        raise IsxWriteError(f"{what} has dtype {arr.dtype}; expected numbers")
    return arr.astype("<f4").reshape(size)


# ---------------------------------------------------------------------- trailer JSON
def efocus_values(f: Fields, extra: dict[str, Any] | None) -> list[int]:
    """``efocusValues``, else ``[extraProperties.idps.efocus]``, else ``[0]`` (spec §6.3)."""
    if f.has("efocusValues"):
        return f.int_array("efocusValues", lo=0, hi=2**16 - 1)
    idps = extra.get("idps") if isinstance(extra, dict) else None
    if isinstance(idps, dict) and "efocus" in idps:
        sub = Fields(idps, f.path, "extraProperties.idps", f.offset)
        return [sub.integer("efocus", lo=0, hi=2**16 - 1)]
    return [0]


def extra_properties(f: Fields) -> dict[str, Any] | None:
    """``extraProperties``: a JSON object or null."""
    extra = f.raw("extraProperties", None)
    if extra is not None and not isinstance(extra, dict):
        raise f.error("wrong JSON type", key="extraProperties", expected="an object or null",
                      found=_describe(extra))
    return extra


def per_item_arrays(f: Fields, prefix: str, n: int, version: int
                    ) -> tuple[list[int], list[int], list[bool]]:
    """Statuses, colours and activity flags (one per name), with version defaults."""
    statuses = f.int_array(f"{prefix}Statuses", length=n, lo=0, hi=2)
    colors = (f.int_array(f"{prefix}Colors", length=n, lo=0, hi=UINT32_MAX)
              if version >= 2 else [WHITE] * n)
    activity = f.bool_array(f"{prefix}Activity", length=n) if version >= 1 else [True] * n
    return statuses, colors, activity


# ---------------------------------------------------------------------- reader
class ItemSetMetadata:
    """Per-item metadata shared by cell-set and vessel-set readers (``self.header``)."""

    header: Any

    @property
    def names(self) -> list[str]:
        return list(self.header.names)

    @property
    def statuses(self) -> list[CellStatus]:
        """Status codes as :class:`~isxio.metadata.CellStatus` (equal to the stored ints
        0 accepted, 1 undecided, 2 rejected)."""
        return [CellStatus(s) for s in self.header.statuses]

    @property
    def status_names(self) -> list[str]:
        """Statuses as 'accepted' / 'undecided' / 'rejected'."""
        return self.header.status_names

    @property
    def colors(self) -> list[int]:
        """Packed ARGB colours (see :func:`unpack_colors`)."""
        return list(self.header.colors)

    @property
    def colors_rgba(self) -> list[Rgba]:
        """Colours as ``Rgba(red, green, blue, alpha)`` bytes (:attr:`colors` unpacked)."""
        return [rgba(c) for c in self.header.colors]

    @property
    def activity(self) -> list[bool]:
        return list(self.header.activity)

    @property
    def timing(self) -> TimingInfo:
        return self.header.timing

    @property
    def spacing(self) -> SpacingInfo:
        return self.header.spacing

    @property
    def extra_properties(self) -> dict[str, Any] | None:
        return self.header.extra_properties

    @property
    def efocus_values(self) -> list[int]:
        return list(self.header.efocus_values)


# ---------------------------------------------------------------------- writer
class ItemSetWriter(IsxdWriter):
    """Base of the cell-set and vessel-set writers: the per-item metadata lists.

    Subclasses set ``_item`` (the word used in messages) and ``_prefix`` (of default
    names), call :meth:`_start_items` in ``__init__`` and :meth:`_open` last.
    """

    _item = "cell"
    _prefix = "C"

    def _start_items(self, timing: TimingInfo, spacing: SpacingInfo,
                     extra_properties: dict[str, Any] | None, efocus_values: Sequence[int],
                     producer: dict[str, Any] | None) -> None:
        """Check and keep what every item set stores; start empty item lists."""
        self.timing = checked_timing(timing)
        self.spacing = spacing
        self.extra_properties = extra_properties
        self.efocus_values = [int(e) for e in efocus_values]
        self.producer = dict(producer or ISX_PRODUCER)
        self._mask = self.timing.valid_mask()
        self.names: list[str] = []
        self.statuses: list[int] = []
        self.colors: list[int] = []
        self.activity: list[bool] = []

    @property
    def num_written(self) -> int:
        return len(self.names)

    def _meta_lists(self) -> tuple[list, list, list, list]:
        return self.names, self.statuses, self.colors, self.activity

    def _meta(self, index: int, name: str | None, status: Any, color: Any,
              active: bool) -> tuple[str, int, int, bool]:
        """Name, status code, packed colour and flag of item ``index``, with isx's defaults."""
        return (f"{self._prefix}{index}" if name is None else str(name),
                UNDECIDED if status is None else status_code(status, self._item),
                WHITE if color is None else pack_color(color), bool(active))

    def _set_status(self, index: int, status: int | str) -> None:
        """Change the status of an already written item (saved by :meth:`flush`)."""
        self._check_open()
        if not 0 <= index < self.num_written:
            raise IsxWriteError(f"{self._item} {index} has not been written "
                                f"({self.num_written} {self._item}s so far)")
        self.statuses[index] = status_code(status, self._item)

    def _trace(self, values: Any, what: str) -> np.ndarray:
        """A trace as float32, NaN at the invalid samples (what isx stores)."""
        tr = as_float32(values, (self.timing.num_samples,), what)
        tr[~self._mask] = FLOAT32_NAN
        return tr


# ---------------------------------------------------------------------- editing
def merged_statuses(current: Sequence[int], statuses: Sequence[int | str] | Mapping[int, Any],
                    what: str = "cell") -> list[int]:
    """New status list: ``statuses`` is a full sequence or a mapping index -> status."""
    n = len(current)
    if isinstance(statuses, Mapping):
        out = list(current)
        for index, value in statuses.items():
            if not isinstance(index, int | np.integer) or not -n <= int(index) < n:
                raise IsxWriteError(f"{what} index {index!r} out of range for {n} {what}s")
            out[int(index)] = status_code(value, what)
        return out
    if len(statuses) != n:
        raise IsxWriteError(f"{len(statuses)} statuses given for {n} {what}s")
    return [status_code(s, what) for s in statuses]


def rewrite_statuses(path: str | os.PathLike[str], reader: Any,
                     statuses: Sequence[int | str] | Mapping[int, Any], what: str) -> None:
    """Change the statuses of an existing item set in place, as isx does.

    The trailer is re-emitted as isx 2.1.0 writes it (fileVersion 5, its
    ``producer``) after the untouched data section; the file is truncated if the
    trailer got shorter.

    Parameters
    ----------
    path
        The cell or vessel set to edit.
    reader
        Its reader class (``CellSetFile`` or ``VesselSetFile``).
    statuses
        All statuses, or a mapping ``{index: status}``.
    what
        'cell' or 'vessel' (for messages).
    """
    path = os.fspath(path)
    with reader(path, recover=False) as items:
        header, data_size = items.header, items.trailer.data_size
    new = replace(header, statuses=merged_statuses(header.statuses, statuses, what),
                  producer=dict(ISX_PRODUCER))
    rewrite_trailer(path, data_size, new.to_json())
