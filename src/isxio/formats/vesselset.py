"""Vessel sets (``type`` 8): blood-vessel diameter or red-blood-cell velocity traces.

Spec ``isxd.md`` §8.  The data section holds one float32 projection image, then one
record per vessel (line points as int64 ``(x, y)`` pairs, the trace, an optional
second trace and, for rbc velocity sets, optional correlation heatmaps), then one
line's worth of zero bytes.  The kind lives only in
``extraProperties.idps.vesselset.type``.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io import as_source
from .._lazy import locked_cached_property
from ..errors import IsxFormatError, IsxFormatWarning, IsxWriteError
from ._base import IsxdReader
from ._diagnose import kind_mismatch, size_diagnosis
from ._fields import Fields, _describe
from ._itemset import (
    FILE_VERSION,
    STATUS_NAMES,
    ItemSetMetadata,
    ItemSetWriter,
    as_float32,
    efocus_values,
    extra_properties,
    fill_empty_names,
    per_item_arrays,
    rewrite_statuses,
)
from .common import SpacingInfo, TimingInfo
from .container import ISX_PRODUCER, AtomicFile, Trailer, read_trailer

__all__ = [
    "DIAMETER",
    "KINDS",
    "RBC_VELOCITY",
    "VESSEL_SET_TYPE",
    "VesselSetFile",
    "VesselSetHeader",
    "VesselSetWriter",
    "set_vessel_statuses",
    "vessel_kind",
    "write_vessel_set",
]

VESSEL_SET_TYPE = 8
DIAMETER = "vessel diameter"
RBC_VELOCITY = "rbc velocity"
#: API kind name -> the string stored in ``extraProperties.idps.vesselset.type``.
KINDS = {DIAMETER: "vessel diameter", RBC_VELOCITY: "red blood cell velocity"}
_KIND_FROM_JSON = {v: k for k, v in KINDS.items()}
#: Points per vessel line: a diameter line has 2 end points, an rbc box 4 corners.
LINE_POINTS = {DIAMETER: 2, RBC_VELOCITY: 4}
HEATMAPS = 3  # correlation heatmaps per sample (temporal offsets -1, 0, +1)


def vessel_kind(kind: str) -> str:
    """The API kind name ('vessel diameter' / 'rbc velocity') of ``kind``
    (either API or JSON spelling)."""
    if kind in KINDS:
        return kind
    if kind in _KIND_FROM_JSON:
        return _KIND_FROM_JSON[kind]
    raise IsxWriteError(f"unknown vessel set kind {kind!r}; expected one of {list(KINDS)}")


def _kind_from_json(f: Fields, extra: dict[str, Any] | None, version: int) -> str:
    key = "extraProperties.idps.vesselset.type"
    idps = extra.get("idps") if isinstance(extra, dict) else None
    vs = idps.get("vesselset") if isinstance(idps, dict) else None
    if not isinstance(vs, dict) or "type" not in vs:
        note = "" if version >= 5 else " (extraProperties is read only from fileVersion 5)"
        raise f.error(f"vessel set kind is missing{note}", key=key,
                      expected="'vessel diameter' or 'red blood cell velocity'")
    value = vs["type"]
    if value not in _KIND_FROM_JSON:
        raise f.error("unknown vessel set kind", key=key,
                      expected="'vessel diameter' or 'red blood cell velocity'",
                      found=_describe(value))
    return _KIND_FROM_JSON[value]


def _correlation_shapes(f: Fields, n: int) -> list[tuple[int, int]] | None:
    """``VesselCorrelationSizes`` (``[width, height]`` per vessel) as ``(rows, cols)``."""
    if not f.has("VesselCorrelationSizes"):
        return None
    sizes = f.array("VesselCorrelationSizes")
    if not sizes:
        return None
    if len(sizes) != n:
        raise f.error("array has the wrong length", key="VesselCorrelationSizes",
                      expected=f"{n} elements (one per vessel)", found=f"{len(sizes)} elements")
    shapes = []
    for i, size in enumerate(sizes):
        key = f"VesselCorrelationSizes[{i}]"
        if not isinstance(size, list) or len(size) != 2:
            raise f.error("malformed correlation size", key=key, expected="[width, height]",
                          found=_describe(size))
        w, h = (f.check_int(v, f"{key}[{j}]", 0, 2**31) for j, v in enumerate(size))
        shapes.append((h, w))
    return shapes


# ---------------------------------------------------------------------- header
@dataclass(frozen=True)
class VesselSetHeader:
    """Everything a vessel-set trailer says (spec §8.3).

    ``kind`` is 'vessel diameter' or 'rbc velocity'.  ``center_saved`` /
    ``direction_saved`` record the presence of ``VesselCenterSaved`` /
    ``VesselDirectionSaved``; the second trace is stored when the flag matching the
    kind is set.  ``correlation_shapes`` are heatmap shapes ``(rows, cols)`` per
    vessel (stored as ``[width, height]``), or None when no heatmaps are saved.
    """

    timing: TimingInfo
    spacing: SpacingInfo
    kind: str
    names: list[str]
    statuses: list[int]
    colors: list[int]
    activity: list[bool]
    efocus_values: list[int] = field(default_factory=lambda: [0])
    extra_properties: dict[str, Any] | None = None
    size_global: int = 0
    center_saved: bool = False
    direction_saved: bool = False
    correlation_shapes: list[tuple[int, int]] | None = None
    file_version: int = FILE_VERSION
    producer: dict[str, Any] = field(default_factory=lambda: dict(ISX_PRODUCER))
    data_type: str = "float"

    @property
    def num_vessels(self) -> int:
        return len(self.names)

    @property
    def status_names(self) -> list[str]:
        return [STATUS_NAMES[s] for s in self.statuses]

    @property
    def line_points(self) -> int:
        return LINE_POINTS[self.kind]

    @property
    def line_bytes(self) -> int:
        """Bytes of one line block (also the zero padding after the last vessel)."""
        return 16 * self.line_points

    @property
    def has_second_trace(self) -> bool:
        """True if each record holds a center (diameter) or direction (rbc) trace."""
        return self.center_saved if self.kind == DIAMETER else self.direction_saved

    @property
    def has_correlations(self) -> bool:
        return self.kind == RBC_VELOCITY and self.correlation_shapes is not None

    def record_sizes(self) -> list[int]:
        """Bytes of each vessel record (Python ints: never overflow on garbage sizes)."""
        t = self.timing.num_samples
        base = self.line_bytes + 4 * t * (2 if self.has_second_trace else 1)
        if not self.has_correlations:
            return [base] * self.num_vessels
        return [base + 4 * HEATMAPS * h * w * t for h, w in self.correlation_shapes or []]

    def data_size(self) -> int:
        """D of a complete file: projection + records + one line of padding (0 if empty)."""
        if not self.num_vessels:
            return 0
        return 4 * self.spacing.num_pixels + sum(self.record_sizes()) + self.line_bytes

    def full_extra_properties(self) -> dict[str, Any]:
        """``extraProperties`` with ``idps.vesselset.type`` set, as isxcore writes it."""
        extra = dict(self.extra_properties or {})
        idps = extra.get("idps")
        idps = dict(idps) if isinstance(idps, dict) else {}
        vs = idps.get("vesselset")
        vs = dict(vs) if isinstance(vs, dict) else {}
        vs["type"] = KINDS[self.kind]
        idps["vesselset"] = vs
        extra["idps"] = idps
        return extra

    def to_json(self) -> dict[str, Any]:
        """The trailer isx 2.1.0 writes for this header (fileVersion 5, §9.3)."""
        out = {
            "SizeGlobalVS": int(self.size_global),
            "VesselActivity": [bool(a) for a in self.activity],
            "VesselColors": [int(c) for c in self.colors],
            "VesselNames": fill_empty_names(self.names, "V"),
            "VesselStatuses": [int(s) for s in self.statuses],
            "dataType": "float",
            "efocusValues": [int(e) for e in self.efocus_values],
            "extraProperties": self.full_extra_properties(),
            "fileVersion": FILE_VERSION,
            "producer": self.producer,
            "spacingInfo": self.spacing.to_json(),
            "timingInfo": self.timing.to_json(),
            "type": VESSEL_SET_TYPE,
        }
        if self.center_saved:
            out["VesselCenterSaved"] = True
        if self.direction_saved:
            out["VesselDirectionSaved"] = True
        if self.correlation_shapes is not None:
            out["VesselCorrelationSizes"] = [[w, h] for h, w in self.correlation_shapes]
        return out

    @classmethod
    def from_trailer(cls, trailer: Trailer) -> VesselSetHeader:
        """Parse a vessel-set trailer.  As in isxcore, ``extraProperties`` (and so the
        kind) is read only from fileVersion >= 5."""
        f = trailer.fields
        kind = f.integer("type")
        if kind != VESSEL_SET_TYPE:
            raise f.error(kind_mismatch("a vessel set", kind), key="type",
                          expected=f"{VESSEL_SET_TYPE} (vessel set)", found=kind)
        version = f.integer("fileVersion", lo=0, hi=2**32)
        data_type = f.string("dataType")
        if data_type != "float":
            warnings.warn(f"{trailer.path}: vessel set dataType is {data_type!r}; reading "
                          "the data as float32 as isx does", IsxFormatWarning, stacklevel=3)
        names = f.str_array("VesselNames")
        statuses, colors, activity = per_item_arrays(f, "Vessel", len(names), version)
        extra = extra_properties(f) if version >= 5 else None
        producer = f.raw("producer", {})
        return cls(TimingInfo.from_json(f), SpacingInfo.from_json(f),
                   _kind_from_json(f, extra, version), names, statuses, colors, activity,
                   efocus_values(f, extra), extra, f.integer("SizeGlobalVS", 0, lo=0),
                   f.has("VesselCenterSaved"), f.has("VesselDirectionSaved"),
                   _correlation_shapes(f, len(names)), version,
                   producer if isinstance(producer, dict) else {}, data_type)


# ---------------------------------------------------------------------- reader
class VesselSetFile(ItemSetMetadata, IsxdReader):
    """A vessel-set ``.isxd`` file opened for reading.

    Opening reads only the trailer and checks the data-section size exactly.  Arrays
    are read-only views of one memory map of the file: zero-copy strided views when
    every vessel record has the same size, gathered copies otherwise.

    Parameters
    ----------
    path
        The ``.isxd`` file.
    recover
        Accept, with a warning, stray bytes after the trailer.
    """

    def __init__(self, path: str | os.PathLike[str], *, recover: bool = True,
                 trailer: Trailer | None = None) -> None:
        self.source = as_source(path)
        self.path = self.source.name
        self.trailer = trailer or read_trailer(self.source, recover=recover)
        self.header = VesselSetHeader.from_trailer(self.trailer)
        self._mm: np.memmap | None = None
        self._map_lock = threading.Lock()
        self._check_size()
        sizes = self.header.record_sizes()
        self.record_offsets = (4 * self.header.spacing.num_pixels
                               + np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)[:-1]])
                               ).astype(np.int64) if sizes else np.zeros(0, np.int64)
        self._uniform = len(set(sizes)) <= 1

    def _check_size(self) -> None:
        h, d = self.header, self.trailer.data_size
        expected = h.data_size()
        if d != expected:
            detail = (f"projection {4 * h.spacing.num_pixels} + {h.num_vessels} records + "
                      f"{h.line_bytes} padding = {expected} bytes" if h.num_vessels
                      else "0 bytes (no vessels)")
            raise IsxFormatError(self.path, f"{size_diagnosis(d, expected, 0, 'vessel')}; data "
                                 "section size does not match the vessels in the trailer", offset=d,
                                 key="VesselNames", expected=detail, found=f"{d} bytes")

    # -------------------------------------------------------------- metadata
    @property
    def num_vessels(self) -> int:
        return self.header.num_vessels

    @property
    def kind(self) -> str:
        """'vessel diameter' or 'rbc velocity'."""
        return self.header.kind

    @property
    def has_correlations(self) -> bool:
        return self.header.has_correlations

    @property
    def correlation_shapes(self) -> list[tuple[int, int]] | None:
        """Heatmap shape ``(rows, cols)`` per vessel, or None."""
        return None if not self.has_correlations else list(self.header.correlation_shapes)

    # -------------------------------------------------------------- data
    def _buffer(self) -> np.memmap:
        """The data section, mapped once (a concurrent ``close()`` cannot unmap it here)."""
        mm = self._mm
        if mm is None:
            with self._map_lock:
                mm = self._mm
                if mm is None:
                    mm = self._mm = np.memmap(self.path, np.uint8, "r",
                                              shape=(self.trailer.data_size,)) \
                        if self.source.is_local else np.frombuffer(  # remote: read it once
                            self.source.read(0, self.trailer.data_size), np.uint8)
        return mm

    def _view(self, offset: int, count: int, dtype: str, shape: tuple[int, ...],
              start: int) -> np.ndarray:
        """Array ``(count, *shape)`` of ``dtype`` at byte ``start + offset`` of records."""
        dt = np.dtype(dtype)
        if count == 0:
            return np.zeros((0, *shape), dt)
        inner = tuple(int(s) for s in np.cumprod((1, *shape[::-1]))[-2::-1] * dt.itemsize)
        strides = (int(np.diff(self.record_offsets[:2])[0]) if count > 1 else 0, *inner)
        if self._uniform:
            return np.ndarray((count, *shape), dt, self._buffer(),
                              int(self.record_offsets[0]) + offset, strides)
        return np.stack([np.ndarray(shape, dt, self._buffer(), int(o) + offset, inner)
                         for o in self.record_offsets])

    @locked_cached_property
    def projection(self) -> np.ndarray | None:
        """The projection image ``(rows, cols)`` float32 (None if there are no vessels)."""
        if not self.num_vessels:
            return None
        return np.ndarray(self.spacing.shape, "<f4", self._buffer(), 0)

    @locked_cached_property
    def lines(self) -> np.ndarray:
        """Line points ``(vessels, points, 2)`` int64 ``(x, y)``; 2 points (diameter) or 4."""
        return self._view(0, self.num_vessels, "<i8", (self.header.line_points, 2), 0)

    def _trace(self, k: int) -> np.ndarray:
        t = self.timing.num_samples
        return self._view(self.header.line_bytes + 4 * t * k, self.num_vessels, "<f4", (t,), 0)

    @locked_cached_property
    def traces(self) -> np.ndarray:
        """Diameter or velocity traces ``(vessels, samples)`` float32 (NaN when invalid)."""
        return self._trace(0)

    @locked_cached_property
    def center_traces(self) -> np.ndarray | None:
        """Diameter sets: center traces ``(vessels, samples)``, or None if not saved."""
        if self.kind != DIAMETER or not self.header.center_saved:
            return None
        return self._trace(1)

    @locked_cached_property
    def direction_traces(self) -> np.ndarray | None:
        """rbc velocity sets: direction traces ``(vessels, samples)``, or None."""
        if self.kind != RBC_VELOCITY or not self.header.direction_saved:
            return None
        return self._trace(1)

    def correlations(self, index: int) -> np.ndarray:
        """Correlation heatmaps of vessel ``index``: a view ``(samples, 3, rows, cols)``."""
        if not self.has_correlations:
            raise IsxFormatError(self.path, "no correlation heatmaps saved in this vessel set",
                                 key="VesselCorrelationSizes")
        n = self.num_vessels
        if not -n <= index < n:
            raise IndexError(f"vessel index {index} is out of range for {n} vessels")
        h, w = self.header.correlation_shapes[index]  # type: ignore[index]
        t = self.timing.num_samples
        offset = int(self.record_offsets[index]) + self.header.line_bytes + 4 * t * (
            2 if self.header.has_second_trace else 1)
        shape = (t, HEATMAPS, h, w)
        if not all(shape):
            return np.zeros(shape, "<f4")
        return np.ndarray(shape, "<f4", self._buffer(), offset)

    def close(self) -> None:
        """Drop the memory map (arrays already returned stay valid)."""
        for name in ("projection", "lines", "traces", "center_traces", "direction_traces"):
            self.__dict__.pop(name, None)
        self._mm = None

    def __repr__(self) -> str:
        return (f"<VesselSetFile {self.path!r} {self.kind}, {self.num_vessels} vessels, "
                f"{self.timing.num_samples} samples>")


# ---------------------------------------------------------------------- writer
class VesselSetWriter(ItemSetWriter):
    """Write a vessel set vessel by vessel, byte-identical to isx.

    Vessels are given in increasing index order.  The projection image is the image
    passed with vessel 0 (isx ignores later ones).  The second trace (center or
    direction) and the correlation heatmaps must be given for every vessel or for
    none.  Trace samples at invalid indices are stored as NaN, as isx does.

    Parameters
    ----------
    path
        Output ``.isxd`` file.
    timing, spacing
        Timing of the traces and pixel grid of the projection image.
    kind
        'vessel diameter' or 'rbc velocity'.
    overwrite
        Replace an existing file.
    extra_properties
        ``extraProperties``; ``idps.vesselset.type`` is always set to the kind.
    efocus_values
        ``efocusValues`` (isx writes ``[0]``).
    """

    _item, _prefix = "vessel", "V"

    def __init__(self, path: str | os.PathLike[str], timing: TimingInfo, spacing: SpacingInfo,
                 kind: str, *, overwrite: bool = False,
                 extra_properties: dict[str, Any] | None = None,
                 efocus_values: Sequence[int] = (0,),
                 producer: dict[str, Any] | None = None) -> None:
        self.kind = vessel_kind(kind)
        self._start_items(timing, spacing, extra_properties, efocus_values, producer)
        self.correlation_shapes: list[tuple[int, int]] = []
        self._second: bool | None = None  # second trace given (decided by vessel 0)
        self._corr: bool | None = None
        self._open(path, overwrite)

    @property
    def num_vessels(self) -> int:
        """Vessels written so far (same as :attr:`num_written`)."""
        return len(self.names)

    def set_vessel_status(self, index: int, status: int | str) -> None:
        """Change the status of an already written vessel (saved by :meth:`flush`)."""
        self._set_status(index, status)

    def _line(self, line: Any) -> bytes:
        arr = np.asarray(line)
        points = LINE_POINTS[self.kind]
        if arr.shape not in ((points, 2), (2 * points,)) or arr.dtype.kind not in "iuf":
            raise IsxWriteError(f"vessel line has shape {arr.shape} and dtype {arr.dtype}; "
                                f"expected ({points}, 2) integer (x, y) points")
        return arr.astype("<i8").tobytes()

    def _correlations(self, values: Any) -> tuple[bytes, tuple[int, int]]:
        arr = np.asarray(values)
        t = self.timing.num_samples
        if arr.ndim != 4 or arr.shape[:2] != (t, HEATMAPS) or arr.dtype.kind not in "iuf":
            raise IsxWriteError(f"correlations have shape {arr.shape}; expected "
                                f"({t}, {HEATMAPS}, rows, cols) numbers")
        return arr.astype("<f4").tobytes(), (int(arr.shape[2]), int(arr.shape[3]))

    def _same_layout(self, second: bool, corr: bool) -> None:
        if self._second is None:
            self._second, self._corr = second, corr
        if (second, corr) != (self._second, self._corr):
            raise IsxWriteError("every vessel must have the second trace and the correlation "
                                "heatmaps if the first one has them, and none otherwise")

    def _check_next(self, index: int, kind: str) -> None:
        self._check_open()
        if self.kind != kind:
            raise IsxWriteError(f"this vessel set holds {self.kind} data, not {kind}")
        if index != self.num_written:
            raise IsxWriteError(f"Writing vessel indexes out of order is unsupported: "
                                f"expected vessel {self.num_written}, got {index}")

    def _write(self, index: int, image: Any, parts: list[bytes], layout: tuple[bool, bool],
               name: str | None, status: Any, color: Any, active: bool) -> None:
        f = self._check_open()
        img = as_float32(image, self.spacing.shape, "vessel image")
        meta = self._meta(index, name, status, color, active)
        self._same_layout(*layout)
        if index == 0:
            f.write(img.tobytes())
        for part in parts:
            f.write(part)
        for seq, value in zip(self._meta_lists(), meta, strict=True):
            seq.append(value)

    def set_vessel_diameter_data(self, index: int, image: Any, line: Any, trace: Any,
                                 center_trace: Any = None, name: str | None = None, *,
                                 status: int | str | None = None, color: Any = None,
                                 active: bool = True) -> None:
        """Write diameter vessel ``index``: ``line`` ``(2, 2)`` end points, ``trace`` and
        ``center_trace`` ``(samples,)``; ``name`` None gives ``"V<index>"``."""
        self._check_next(index, DIAMETER)
        parts = [self._line(line), self._trace(trace, "vessel trace").tobytes()]
        if center_trace is not None:
            parts.append(self._trace(center_trace, "center trace").tobytes())
        self._write(index, image, parts, (center_trace is not None, False), name, status,
                    color, active)

    def set_rbc_velocity_data(self, index: int, image: Any, line: Any, trace: Any,
                              direction_trace: Any = None, correlations: Any = None,
                              name: str | None = None, *, status: int | str | None = None,
                              color: Any = None, active: bool = True) -> None:
        """Write rbc velocity vessel ``index``: ``line`` ``(4, 2)`` corners, ``trace`` and
        ``direction_trace`` ``(samples,)``, ``correlations`` ``(samples, 3, rows, cols)``."""
        self._check_next(index, RBC_VELOCITY)
        parts = [self._line(line), self._trace(trace, "vessel trace").tobytes()]
        if direction_trace is not None:
            parts.append(self._trace(direction_trace, "direction trace").tobytes())
        shape = None
        if correlations is not None:
            raw, shape = self._correlations(correlations)
            parts.append(raw)
        self._write(index, image, parts, (direction_trace is not None, shape is not None),
                    name, status, color, active)
        if shape is not None:
            self.correlation_shapes.append(shape)

    @property
    def header(self) -> VesselSetHeader:
        """The header that :meth:`flush` will write."""
        second = bool(self._second)
        return VesselSetHeader(
            self.timing, self.spacing, self.kind, list(self.names), list(self.statuses),
            list(self.colors), list(self.activity), list(self.efocus_values),
            self.extra_properties, center_saved=second and self.kind == DIAMETER,
            direction_saved=second and self.kind == RBC_VELOCITY,
            correlation_shapes=list(self.correlation_shapes) if self._corr else None,
            producer=self.producer)

    def _finish(self, f: AtomicFile) -> dict[str, Any]:
        """Write the zero padding after the last vessel; return the trailer."""
        header = self.header
        if header.num_vessels:
            f.write(bytes(header.line_bytes))
        return header.to_json()


def write_vessel_set(path: str | os.PathLike[str], kind: str, image: Any, lines: Any,
                     traces: Any, second_traces: Any = None, *, correlations: Any = None,
                     timing: TimingInfo | None = None, spacing: SpacingInfo | None = None,
                     names: Sequence[str | None] | None = None,
                     statuses: Sequence[int | str] | None = None,
                     colors: Sequence[Any] | None = None, overwrite: bool = False,
                     extra_properties: dict[str, Any] | None = None,
                     efocus_values: Sequence[int] = (0,)) -> None:
    """Write a whole vessel set.

    ``image`` is the projection ``(rows, cols)``, ``lines`` ``(vessels, points, 2)``,
    ``traces`` and ``second_traces`` (center or direction) ``(vessels, samples)``,
    ``correlations`` a sequence of ``(samples, 3, rows, cols)`` arrays (rbc only).
    """
    kind = vessel_kind(kind)
    n, t = np.shape(traces)[0], np.shape(traces)[1]
    timing = timing or TimingInfo(num_samples=t)
    spacing = spacing or SpacingInfo(*np.shape(image))
    pick = (lambda seq, i: None if seq is None else seq[i])  # noqa: E731
    with VesselSetWriter(path, timing, spacing, kind, overwrite=overwrite,
                         extra_properties=extra_properties,
                         efocus_values=efocus_values) as writer:
        for i in range(n):
            common = dict(name=pick(names, i), status=pick(statuses, i), color=pick(colors, i))
            if kind == DIAMETER:
                writer.set_vessel_diameter_data(i, image, lines[i], traces[i],
                                                pick(second_traces, i), **common)
            else:
                writer.set_rbc_velocity_data(i, image, lines[i], traces[i],
                                             pick(second_traces, i), pick(correlations, i),
                                             **common)


def set_vessel_statuses(path: str | os.PathLike[str],
                        statuses: Sequence[int | str] | Mapping[int, int | str]) -> None:
    """Change the statuses of an existing vessel set in place (as isx
    ``VesselSet.read(path, read_only=False).set_vessel_status(...)`` does), truncating
    the file if the trailer got shorter.  ``statuses``: all of them, or
    ``{vessel index: status}``."""
    rewrite_statuses(path, VesselSetFile, statuses, "vessel")
