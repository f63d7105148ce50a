"""Cell sets (``type`` 1): per-cell footprint images and traces.

Spec ``isxd.md`` §6.  Cells are stored back to back, each one a ``rows × cols``
float32 footprint followed by a trace of ``numTimes`` float32 samples (invalid
samples hold NaN).  The JSON trailer lists per-cell names, statuses (0 accepted,
1 undecided, 2 rejected), ARGB colours and activity flags; keys appeared over file
versions 0-5 and isx 2.1.0 always writes version 5.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io import as_source
from .._lazy import RecordArray, locked_cached_property
from ..errors import IsxFormatError, IsxFormatWarning, IsxWriteError
from ..metadata import CellMetrics, cell_metrics_table
from ._base import IsxdReader
from ._base import checked_timing as checked_timing
from ._diagnose import kind_mismatch, size_diagnosis
from ._fields import INT64_MAX, INT64_MIN, UINT64_MAX, Fields, _describe
from ._itemset import (
    FILE_VERSION,
    FLOAT32_NAN,
    STATUS_NAMES,
    UNDECIDED,
    WHITE,
    ItemSetMetadata,
    ItemSetWriter,
    efocus_values,
    extra_properties,
    fill_empty_names,
    pack_color,
    per_item_arrays,
    rewrite_statuses,
    status_code,
    unpack_colors,
)
from ._itemset import as_float32 as as_float32
from ._itemset import merged_statuses as merged_statuses
from .common import SpacingInfo, TimingInfo
from .container import ISX_PRODUCER, AtomicFile, Trailer, read_trailer

__all__ = [
    "CELL_SET_TYPE",
    "STATUS_NAMES",
    "WHITE",
    "CellSetFile",
    "CellSetHeader",
    "CellSetWriter",
    "fill_empty_names",
    "pack_color",
    "set_cell_statuses",
    "status_code",
    "unpack_colors",
    "write_cell_set",
]

CELL_SET_TYPE = 1


# ---------------------------------------------------------------------- helpers
def float_array(f: Fields, name: str, default: Any = None) -> list[float]:
    """A JSON array of numbers as Python floats (isxcore holds them as doubles)."""
    values = f.array(name) if default is None else f.array(name, default)
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise f.error("wrong JSON type", key=f"{f.key(name)}[{i}]", expected="a number",
                          found=_describe(v))
    return [float(v) for v in values]


# ---------------------------------------------------------------------- metrics
_METRIC_FLOATS = 4  # overall area, largest area, overall / largest max contour width


def _metric_float(f: Fields, value: Any, key: str) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise f.error("wrong JSON type", key=key, expected="a number or null",
                      found=_describe(value))
    with np.errstate(over="ignore"):
        return float(np.float32(value))  # isxcore keeps metrics as float32


def _metric_entry(f: Fields, i: int, item: Any) -> Any:
    key = f"cellMetrics[{i}]"
    if item is None or item == {} or item == []:
        return {}
    if not isinstance(item, list) or len(item) < 3 + _METRIC_FLOATS:
        raise f.error("malformed cell metrics", key=key,
                      expected="{} or [numComponents, centre, largest centre, 4 numbers]",
                      found=_describe(item))
    centres = []
    for j in (1, 2):
        sub = Fields(item[j], f.path, f"{key}[{j}]", f.offset)
        centres.append({"x": sub.integer("x", lo=INT64_MIN, hi=INT64_MAX),
                        "y": sub.integer("y", lo=INT64_MIN, hi=INT64_MAX)})
    floats = [_metric_float(f, v, f"{key}[{3 + j}]") for j, v in enumerate(item[3:7])]
    return [f.check_int(item[0], f"{key}[0]", 0, UINT64_MAX), *centres, *floats]


def cell_metrics(f: Fields, n: int) -> list[Any] | None:
    """``cellMetrics`` normalised as isxcore re-emits it (null, or one entry per cell)."""
    raw = f.raw("cellMetrics", None)
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list):
        raise f.error("wrong JSON type", key="cellMetrics", expected="null or an array",
                      found=_describe(raw))
    if len(raw) != n:
        raise f.error("array has the wrong length", key="cellMetrics",
                      expected=f"{n} elements (one per cell)", found=f"{len(raw)} elements")
    return [_metric_entry(f, i, item) for i, item in enumerate(raw)]


# ---------------------------------------------------------------------- header
@dataclass(frozen=True)
class CellSetHeader:
    """Everything a cell-set trailer says (spec §6.2-6.3), with version defaults applied.

    ``names`` are as stored (an empty name stays empty; :meth:`to_json` fills it the
    way isxcore does).  ``colors`` are packed ARGB uint32 values.
    """

    timing: TimingInfo
    spacing: SpacingInfo
    names: list[str]
    statuses: list[int]
    colors: list[int]
    activity: list[bool]
    efocus_values: list[int] = field(default_factory=lambda: [0])
    extra_properties: dict[str, Any] | None = None
    cell_metrics: list[Any] | None = None
    is_roi_set: bool = False
    size_global: int = 0
    matches: list[int] = field(default_factory=list)
    pair_scores: list[float] = field(default_factory=list)
    centroid_distances: list[float] = field(default_factory=list)
    file_version: int = FILE_VERSION
    producer: dict[str, Any] = field(default_factory=lambda: dict(ISX_PRODUCER))
    data_type: str = "float"

    @property
    def num_cells(self) -> int:
        return len(self.names)

    @property
    def cell_items(self) -> int:
        """float32 values per stored cell (footprint pixels + trace samples)."""
        return self.spacing.num_pixels + self.timing.num_samples

    @property
    def cell_bytes(self) -> int:
        return 4 * self.cell_items

    @property
    def status_names(self) -> list[str]:
        return [STATUS_NAMES[s] for s in self.statuses]

    def to_json(self) -> dict[str, Any]:
        """The trailer isx 2.1.0 writes for this header (fileVersion 5, §9.3)."""
        metrics = None if not self.cell_metrics else list(self.cell_metrics)
        return {
            "CellActivity": [bool(a) for a in self.activity],
            "CellColors": [int(c) for c in self.colors],
            "CellNames": fill_empty_names(self.names, "C"),
            "CellStatuses": [int(s) for s in self.statuses],
            "CentroidDistances": [float(x) for x in self.centroid_distances],
            "Matches": [int(x) for x in self.matches],
            "PairScores": [float(x) for x in self.pair_scores],
            "SizeGlobalCS": int(self.size_global),
            "cellMetrics": metrics,
            "dataType": "float",
            "efocusValues": [int(e) for e in self.efocus_values],
            "extraProperties": self.extra_properties,
            "fileVersion": FILE_VERSION,
            "isRoiSet": bool(self.is_roi_set),
            "producer": self.producer,
            "spacingInfo": self.spacing.to_json(),
            "timingInfo": self.timing.to_json(),
            "type": CELL_SET_TYPE,
        }

    @classmethod
    def from_trailer(cls, trailer: Trailer) -> CellSetHeader:
        """Parse a cell-set trailer of any fileVersion 0-5 (keys of later versions are
        ignored in older files, exactly as isxcore does)."""
        f = trailer.fields
        kind = f.integer("type")
        if kind != CELL_SET_TYPE:
            raise f.error(kind_mismatch("a cell set", kind), key="type",
                          expected=f"{CELL_SET_TYPE} (cell set)", found=kind)
        version = f.integer("fileVersion", lo=0, hi=2**32)
        data_type = f.string("dataType")
        if data_type != "float":
            warnings.warn(f"{trailer.path}: cell set dataType is {data_type!r}; reading the "
                          "data as float32 as isx does", IsxFormatWarning, stacklevel=3)
        names = f.str_array("CellNames")
        statuses, colors, activity = per_item_arrays(f, "Cell", len(names), version)
        extra = extra_properties(f) if version >= 5 else None
        later: dict[str, Any] = {}
        if version >= 3:
            later = dict(size_global=f.integer("SizeGlobalCS", lo=0),
                         matches=f.int_array("Matches", lo=-(2**15), hi=2**15 - 1),
                         pair_scores=float_array(f, "PairScores"),
                         centroid_distances=float_array(f, "CentroidDistances"))
        producer = f.raw("producer", {})
        return cls(TimingInfo.from_json(f), SpacingInfo.from_json(f), names, statuses, colors,
                   activity, efocus_values(f, extra), extra,
                   cell_metrics(f, len(names)) if version >= 4 else None,
                   f.boolean("isRoiSet"), **later, file_version=version,
                   producer=producer if isinstance(producer, dict) else {},
                   data_type=data_type)


# ---------------------------------------------------------------------- reader
class CellSetFile(ItemSetMetadata, IsxdReader):
    """A cell-set ``.isxd`` file opened for reading.

    Opening reads only the trailer and checks it against the data-section size.
    ``footprints`` ``(cells, rows, cols)`` and ``traces`` ``(cells, samples)`` are lazy
    float32 arrays over a memory map of the file (zero-copy strided views); traces
    hold NaN at invalid samples, as stored by isx.

    Parameters
    ----------
    path
        The ``.isxd`` file.
    recover
        Accept, with an :class:`~isxio.errors.IsxFormatWarning`, stray bytes after the
        trailer and a data section with fewer than one cell of extra bytes (isxcore
        ignores both).  If false, both are errors.
    """

    _lazy_arrays = ("footprints", "traces")

    def __init__(self, path: str | os.PathLike[str], *, recover: bool = True,
                 trailer: Trailer | None = None) -> None:
        self.source = as_source(path)
        self.path = self.source.name
        self.trailer = trailer or read_trailer(self.source, recover=recover)
        self.header = CellSetHeader.from_trailer(self.trailer)
        self._check_size(recover)

    def _check_size(self, recover: bool) -> None:
        n, b, d = self.header.num_cells, self.header.cell_bytes, self.trailer.data_size
        if d == n * b:
            return
        where = dict(offset=d, key="CellNames",
                     expected=f"{n} cells x {b} bytes = {n * b} bytes")
        if b == 0 or d // b != n:
            found = f"{d} bytes" + (f" ({d / b:g} cells)" if b else "")
            raise IsxFormatError(self.path, f"{size_diagnosis(d, n * b, b, 'cell')}; data "
                                 "section size does not match the number of cells in the "
                                 "trailer", found=found, **where)
        if not recover:
            raise IsxFormatError(self.path, "data section has stray bytes after the last cell",
                                 found=f"{d} bytes", **where)
        warnings.warn(f"{self.path}: ignored {d - n * b} stray byte(s) after the last cell "
                      f"(bytes {n * b}..{d - 1})", IsxFormatWarning, stacklevel=3)

    # -------------------------------------------------------------- metadata
    @property
    def num_cells(self) -> int:
        return self.header.num_cells

    @property
    def cell_metrics(self) -> list[Any] | None:
        """``cellMetrics`` as stored (null, or one entry per cell); see :meth:`metrics_table`."""
        return self.header.cell_metrics

    def metrics_table(self) -> list[CellMetrics] | None:
        """Cell metrics typed, one :class:`~isxio.metadata.CellMetrics` per cell, or None
        when the file stores none; NaN where a value is missing (no int64 sentinels)."""
        if self.header.cell_metrics is None:
            return None
        return cell_metrics_table(self.header.cell_metrics, self.num_cells)

    @property
    def valid_mask(self) -> np.ndarray:
        return self.header.timing.valid_mask()

    # -------------------------------------------------------------- data
    def _part(self, start: int, shape: tuple[int, ...]) -> RecordArray:
        h = self.header
        return RecordArray(self.source, 0, h.cell_items, start, shape, h.num_cells,
                           np.dtype("<f4"))

    @locked_cached_property
    def footprints(self) -> RecordArray:
        """Footprint images, lazy ``(cells, rows, cols)`` float32."""
        return self._part(0, self.header.spacing.shape)

    @locked_cached_property
    def traces(self) -> RecordArray:
        """Traces, lazy ``(cells, samples)`` float32 (NaN at invalid samples)."""
        h = self.header
        return self._part(h.spacing.num_pixels, (h.timing.num_samples,))

    def __repr__(self) -> str:
        return (f"<CellSetFile {self.path!r} {self.num_cells} cells, "
                f"{self.timing.num_samples} samples, {self.spacing.shape}>")


# ---------------------------------------------------------------------- writer
class CellSetWriter(ItemSetWriter):
    """Write a cell set cell by cell, in bounded memory, byte-identical to isx.

    Cells are given in increasing index order (repeating the last index replaces
    that cell, as isx allows).  Nothing appears under ``path`` before :meth:`flush`
    succeeds.  Trace samples at invalid (dropped/cropped/blank) indices are stored
    as NaN whatever the caller passes, as isx does.

    Parameters
    ----------
    path
        Output ``.isxd`` file.
    timing, spacing
        Timing of the traces and pixel grid of the footprints.
    overwrite
        Replace an existing file (default: an existing file is an error).
    extra_properties
        ``extraProperties`` object, or None (isx writes null).
    efocus_values
        ``efocusValues`` (isx writes ``[0]``).
    is_roi_set
        ``isRoiSet`` (true for hand-drawn ROI sets).
    cell_metrics
        ``cellMetrics`` (one entry per cell, see spec §6.2), or None.
    """

    def __init__(self, path: str | os.PathLike[str], timing: TimingInfo, spacing: SpacingInfo,
                 *, overwrite: bool = False, extra_properties: dict[str, Any] | None = None,
                 efocus_values: Sequence[int] = (0,), is_roi_set: bool = False,
                 cell_metrics: list[Any] | None = None,
                 producer: dict[str, Any] | None = None) -> None:
        self._start_items(timing, spacing, extra_properties, efocus_values, producer)
        self.is_roi_set = bool(is_roi_set)
        self.cell_metrics = cell_metrics
        self._open(path, overwrite)

    @property
    def num_cells(self) -> int:
        """Cells written so far (same as :attr:`num_written`)."""
        return len(self.names)

    @property
    def cell_items(self) -> int:
        return self.spacing.num_pixels + self.timing.num_samples

    def set_cell_status(self, index: int, status: int | str) -> None:
        """Change the status of an already written cell (saved by :meth:`flush`)."""
        self._set_status(index, status)

    def _record(self, image: Any, trace: Any) -> np.ndarray:
        img = as_float32(image, self.spacing.shape, "cell image")
        return np.concatenate([img, self._trace(trace, "cell trace")])

    def set_cell_data(self, index: int, image: Any, trace: Any, name: str | None = None,
                      status: int | str | None = None, color: Any = None,
                      active: bool = True) -> None:
        """Write cell ``index``: footprint ``image`` ``(rows, cols)`` and ``trace``
        ``(samples,)``.  ``name`` None gives ``"C<index>"`` (isx's default); an empty
        name is replaced when the file is saved (``C00``... for more than 10 cells).
        ``status`` defaults to undecided and ``color`` to opaque white."""
        f = self._check_open()
        n = self.num_written
        if index not in (n, n - 1) or index < 0:
            raise IsxWriteError(f"Writing cell indexes out of order is unsupported: expected "
                                f"cell {n}, got {index}")
        record = self._record(image, trace)
        meta = self._meta(index, name, status, color, active)
        if index == n - 1:  # replace the last cell
            f.fh.seek(index * 4 * self.cell_items)  # type: ignore[union-attr]
            f.write(record.tobytes())
            for seq, value in zip(self._meta_lists(), meta, strict=True):
                seq[index] = value
            return
        f.write(record.tobytes())
        for seq, value in zip(self._meta_lists(), meta, strict=True):
            seq.append(value)

    def write_cells(self, images: Any, traces: Any, *, names: Sequence[str] | None = None,
                    statuses: Sequence[int | str] | None = None,
                    colors: Sequence[Any] | None = None,
                    activity: Sequence[bool] | None = None) -> None:
        """Append ``k`` cells: ``images`` ``(k, rows, cols)`` and ``traces`` ``(k, samples)``."""
        f = self._check_open()
        imgs, trs = np.asarray(images), np.asarray(traces)
        k, p, t = len(imgs), self.spacing.num_pixels, self.timing.num_samples
        if imgs.shape != (k, *self.spacing.shape) or trs.shape != (k, t):
            raise IsxWriteError(f"cell data shapes {imgs.shape} and {trs.shape} do not match "
                                f"(cells, {self.spacing.shape[0]}, {self.spacing.shape[1]}) "
                                f"and (cells, {t})")
        block = np.empty((k, p + t), "<f4")
        block[:, :p] = imgs.reshape(k, p)
        block[:, p:] = trs
        block[:, p:][:, ~self._mask] = FLOAT32_NAN
        first = self.num_written
        meta = _bulk_meta(first, k, names, statuses, colors, activity)
        f.write(memoryview(block).cast("B"))
        for seq, values in zip(self._meta_lists(), meta, strict=True):
            seq.extend(values)

    @property
    def header(self) -> CellSetHeader:
        """The header that :meth:`flush` will write."""
        metrics = self.cell_metrics
        if metrics is not None:
            metrics = cell_metrics(Fields({"cellMetrics": metrics}, self.path), self.num_written)
        return CellSetHeader(self.timing, self.spacing, list(self.names), list(self.statuses),
                             list(self.colors), list(self.activity), list(self.efocus_values),
                             self.extra_properties, metrics, self.is_roi_set,
                             producer=self.producer)

    def _finish(self, f: AtomicFile) -> dict[str, Any]:
        try:
            return self.header.to_json()
        except IsxFormatError as exc:
            raise IsxWriteError(f"invalid cell metrics: {exc.reason}") from None


def _bulk_meta(first: int, k: int, names: Sequence[str] | None,
               statuses: Sequence[int | str] | None, colors: Sequence[Any] | None,
               activity: Sequence[bool] | None) -> tuple[list, list, list, list]:
    for label, seq in (("names", names), ("statuses", statuses), ("colors", colors),
                       ("activity", activity)):
        if seq is not None and len(seq) != k:
            raise IsxWriteError(f"{label} has {len(seq)} entries for {k} cells")
    names = [None] * k if names is None else names
    return ([f"C{first + i}" if s is None else str(s) for i, s in enumerate(names)],
            [UNDECIDED] * k if statuses is None else [status_code(s) for s in statuses],
            [WHITE] * k if colors is None else [pack_color(c) for c in colors],
            [True] * k if activity is None else [bool(a) for a in activity])


def write_cell_set(path: str | os.PathLike[str], footprints: Any, traces: Any, *,
                   timing: TimingInfo | None = None, spacing: SpacingInfo | None = None,
                   names: Sequence[str] | None = None,
                   statuses: Sequence[int | str] | None = None,
                   colors: Sequence[Any] | None = None,
                   activity: Sequence[bool] | None = None, overwrite: bool = False,
                   extra_properties: dict[str, Any] | None = None,
                   efocus_values: Sequence[int] = (0,), is_roi_set: bool = False,
                   cell_metrics: list[Any] | None = None, chunk_cells: int = 64) -> None:
    """Write a whole cell set: ``footprints`` ``(cells, rows, cols)``, ``traces``
    ``(cells, samples)`` (any sliceable arrays; consumed ``chunk_cells`` at a time).

    Defaults: ``timing`` = ``numTimes`` samples of 50 ms, ``spacing`` from the
    footprint shape, names ``C0, C1, ...``, statuses undecided, colours white.
    """
    fshape, tshape = tuple(np.shape(footprints)), tuple(np.shape(traces))
    if len(fshape) != 3 or len(tshape) != 2 or fshape[0] != tshape[0]:
        raise IsxWriteError(f"footprints {fshape} and traces {tshape} must be "
                            "(cells, rows, cols) and (cells, samples)")
    timing = timing or TimingInfo(num_samples=tshape[1])
    spacing = spacing or SpacingInfo(fshape[1], fshape[2])
    n = fshape[0]
    with CellSetWriter(path, timing, spacing, overwrite=overwrite,
                       extra_properties=extra_properties, efocus_values=efocus_values,
                       is_roi_set=is_roi_set, cell_metrics=cell_metrics) as writer:
        for lo in range(0, n, chunk_cells):
            hi = min(n, lo + chunk_cells)
            part = slice(lo, hi)
            writer.write_cells(np.asarray(footprints[part]), np.asarray(traces[part]),
                               names=None if names is None else names[part],
                               statuses=None if statuses is None else statuses[part],
                               colors=None if colors is None else colors[part],
                               activity=None if activity is None else activity[part])


# ---------------------------------------------------------------------- editing
def set_cell_statuses(path: str | os.PathLike[str],
                      statuses: Sequence[int | str] | Mapping[int, int | str]) -> None:
    """Change the statuses of an existing cell set in place.

    Equivalent to isx ``CellSet.read(path, read_only=False).set_cell_status(...)``:
    the JSON trailer is re-emitted as isx 2.1.0 writes it (fileVersion 5, its
    ``producer``) after the untouched data section, and the file is truncated if the
    trailer got shorter.

    Parameters
    ----------
    path
        The cell set to edit.
    statuses
        All statuses (one per cell), or a mapping ``{cell index: status}``; a status is
        0/1/2 or 'accepted'/'undecided'/'rejected'.
    """
    rewrite_statuses(path, CellSetFile, statuses, "cell")
