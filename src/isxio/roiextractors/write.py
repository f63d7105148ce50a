"""Write any roiextractors extractor back to Inscopix ``.isxd`` files.

:func:`write_imaging` turns an ImagingExtractor (NWB, TIFF, Suite2p, numpy, ours...) into
an Inscopix movie and :func:`write_segmentation` a SegmentationExtractor into a cell set,
both read by isx and IDPS.  Movies stream in blocks of about 64 MB, so a movie larger
than memory converts in bounded memory; both writers write to a temporary file and
rename it only once everything succeeded, so a failure leaves nothing under ``path``.

What is kept, and how
---------------------
=================  ==========================================================================
timing             An extractor of ours that reads one file whole keeps that file's timing
                   exactly (period, start, dropped / cropped / blank samples).  Otherwise the
                   period comes from ``get_timestamps()``: regular timestamps (every sample
                   within :data:`REGULAR_TOLERANCE` of a period from the line through the
                   first and last) give ``(last - first) / (n - 1)``, the rule isx uses for
                   hardware timestamps; irregular ones give the median interval, with an
                   :class:`IrregularTimestampsWarning` stating the largest deviation (the
                   timestamps themselves cannot be stored in a movie or cell set).
start time         ``start_time`` (an aware datetime) if given, else the start of the file
                   of ours the extractor derives from (also through ``slice_samples`` /
                   ``select_plane`` views), else the Unix epoch; the first timestamp is
                   added to it (extractor timestamps are seconds from that reference).
pixel type         uint8, uint16 and float32 are written as they are; bool -> uint8; int8,
                   int16, float16 -> float32 (exact); int32/int64/uint32/uint64 -> float32
                   when every value is an integer of at most 2**24 in magnitude (exact),
                   else :class:`~isxio.errors.IsxWriteError`; float64 -> float32 with an
                   :class:`PrecisionLossWarning` (values outside float32's range are an
                   error).  ``dtype=`` forces uint8/uint16/float32 (range-checked).
planes             volumetric extractors are refused: write ``extractor.select_plane(k)``
                   (or ``InscopixImagingExtractor(path, plane=k)``), one file per plane.
pixel size         isx's default (3 µm); kept (with the top-left corner) for a movie of ours
                   read whole and for cell sets of ours.
metadata           ``extraProperties`` (acquisition metadata) kept for an extractor of ours
                   that reads one file whole (not a plane or colour of it); cell sets of
                   ours also keep their names, colours, activity, metrics and efocus.
cells              names ``str(roi_id)``; footprints are the image masks (pixel masks
                   densified); traces are the ``trace_name`` response (``"raw"`` by
                   default) as float32; statuses from the ``cell_status`` property, else
                   from boolean accept / reject properties (:data:`ACCEPT_KEYS`,
                   :data:`REJECT_KEYS`: a set flag wins, rejected first; with only one kind
                   of flag an unset one means the other status; with both, neither set is
                   undecided), else undecided.  ``names=`` / ``statuses=``
                   override them (e.g. from NWB columns roiextractors does not read).
                   Properties of ``select_rois`` views are read from their parent
                   (roiextractors 0.10 misaligns the view's copy).
=================  ==========================================================================
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import IsxWriteError
from ..formats.cellset import STATUS_NAMES, CellSetWriter, status_code
from ..formats.common import Ratio, SpacingInfo, Time, TimingInfo
from ..formats.movie import MovieFile, MovieWriter

__all__ = [
    "ACCEPT_KEYS",
    "BLOCK_BYTES",
    "REGULAR_TOLERANCE",
    "REJECT_KEYS",
    "IrregularTimestampsWarning",
    "PrecisionLossWarning",
    "write_imaging",
    "write_segmentation",
]

PathLike = str | os.PathLike[str]

#: Bytes of source frames read per block (``get_series`` call).
BLOCK_BYTES = 64 << 20
#: Largest deviation, in periods, of a timestamp from the regular grid still called regular.
REGULAR_TOLERANCE = 0.1
#: Largest denominator of a period or start derived from float seconds (1 µs resolution).
MAX_DENOMINATOR = 1_000_000
#: Cells written per block.
CHUNK_CELLS = 64
#: Boolean properties meaning "accepted" / "rejected", in order of preference.
ACCEPT_KEYS = ("is_accepted", "accepted", "iscell")
REJECT_KEYS = ("is_rejected", "rejected")
#: Responses tried, in order, when the requested one is absent.
TRACE_ORDER = ("raw", "dff", "denoised", "deconvolved", "baseline", "neuropil", "background")
#: Largest integer every value up to which float32 holds exactly.
FLOAT32_EXACT_INT = 2**24
FLOAT32_MAX = float(np.finfo(np.float32).max)
EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class IrregularTimestampsWarning(UserWarning):
    """Timestamps that a regular period can only approximate."""


class PrecisionLossWarning(UserWarning):
    """Pixel values converted to a type with less precision (float64 -> float32)."""


# ---------------------------------------------------------------------- timing
def _as_time(value: _dt.datetime) -> Time:
    """An aware datetime as an isx :class:`Time` (µs resolution, its own UTC offset)."""
    if not isinstance(value, _dt.datetime) or value.utcoffset() is None:
        raise IsxWriteError(f"start_time must be a timezone-aware datetime, got {value!r}")
    micros = (value - EPOCH) // _dt.timedelta(microseconds=1)
    offset = int(value.utcoffset().total_seconds())  # type: ignore[union-attr]
    return Time(_seconds_ratio(Fraction(micros, 1_000_000)), offset)


def _seconds_ratio(value: Fraction) -> Ratio:
    """Seconds as a Ratio over 1000 (ms) when exact, else over 10**6 (µs, rounded)."""
    if (value * 1000).denominator == 1:
        return Ratio(int(value * 1000), 1000)
    return Ratio(round(value * MAX_DENOMINATOR), MAX_DENOMINATOR)


def _shifted(start: Time, seconds: float) -> Time:
    """``start`` plus ``seconds`` (kept exactly when ``seconds`` is 0)."""
    if seconds == 0:
        return start
    total = start.secs_since_epoch.fraction + Fraction(seconds)
    return Time(_seconds_ratio(total), start.utc_offset)


def _period_ratio(seconds: float, path: str) -> Ratio:
    if not np.isfinite(seconds) or seconds <= 0:
        raise IsxWriteError(f"{path}: sampling period {seconds!r} s is not positive")
    return Ratio.from_fraction(Fraction(float(seconds)).limit_denominator(MAX_DENOMINATOR))


def _period_from_timestamps(times: np.ndarray, path: str) -> float:
    """The period a regular movie keeps for ``times`` (warns when they are irregular)."""
    steps = np.diff(times)
    if not np.all(np.isfinite(times)) or np.any(steps <= 0):
        raise IsxWriteError(f"{path}: the extractor's timestamps are not finite and "
                            "strictly increasing")
    n = len(times)
    span = (times[-1] - times[0]) / (n - 1)
    grid = np.arange(n, dtype=np.float64)
    if np.max(np.abs(times - (times[0] + grid * span))) <= REGULAR_TOLERANCE * span:
        return float(span)
    median = float(np.median(steps))
    worst = float(np.max(np.abs(times - (times[0] + grid * median))))
    warnings.warn(f"{path}: the extractor's timestamps are irregular; writing a regular "
                  f"period of {median:.9g} s (their median interval), which places samples "
                  f"up to {worst:.6g} s away from their timestamps", IrregularTimestampsWarning,
                  stacklevel=4)
    return median


def _extractor_timestamps(extractor: Any, n: int) -> np.ndarray | None:
    """``get_timestamps()`` as float64, or None where neither times nor a rate are known."""
    fs = extractor.get_sampling_frequency()
    native = None
    if not extractor.has_time_vector():
        native = extractor.get_native_timestamps()
    if native is None and not extractor.has_time_vector() and not fs:
        return None
    times = native if native is not None else extractor.get_timestamps()
    return np.asarray(times, dtype=np.float64)[:n]


def _generic_timing(extractor: Any, n: int, path: str, reference: Time) -> TimingInfo:
    """Timing of ``n`` samples from the extractor's timestamps (or its rate)."""
    times = _extractor_timestamps(extractor, n)
    if times is None:
        warnings.warn(f"{path}: the extractor has neither timestamps nor a sampling "
                      "frequency; writing isx's default period of 50 ms",
                      IrregularTimestampsWarning, stacklevel=3)
        return TimingInfo(num_samples=n, start=reference)
    if len(times) != n:
        raise IsxWriteError(f"{path}: the extractor has {len(times)} timestamps for {n} "
                            "samples")
    if n >= 2:
        period = _period_from_timestamps(times, path)
    else:
        period = 1.0 / float(extractor.get_sampling_frequency() or 20.0)
    start = _shifted(reference, float(times[0]) if n else 0.0)
    return TimingInfo(num_samples=n, period=_period_ratio(period, path), start=start)


def _inscopix_start(extractor: Any) -> Time | None:
    """The start of the isx file behind ``extractor`` (through roiextractors' views)."""
    seen = 0
    while extractor is not None and seen < 16:
        start = getattr(extractor, "_start", None)
        if callable(start) and _is_ours(extractor):
            return start()
        extractor = getattr(extractor, "_parent_imaging", None) or \
            getattr(extractor, "_parent_segmentation", None)
        seen += 1
    return None


def _is_ours(extractor: Any) -> bool:
    from .imaging import InscopixImagingExtractor

    classes: tuple[type, ...] = (InscopixImagingExtractor,)
    try:
        from .segmentation import InscopixSegmentationExtractor
    except ImportError:  # pragma: no cover - the segmentation module is optional here
        pass
    else:
        classes += (InscopixSegmentationExtractor,)
    return isinstance(extractor, classes)


def _reference(extractor: Any, start_time: _dt.datetime | None) -> Time:
    if start_time is not None:
        return _as_time(start_time)
    return _inscopix_start(extractor) or Time()


# ---------------------------------------------------------------------- pixels
def _target_dtype(source: np.dtype, requested: Any, path: str) -> np.dtype:
    """The movie's pixel type for frames of type ``source`` (see the module table)."""
    if requested is not None:
        target = np.dtype(requested)
        if target.newbyteorder("=") not in (np.dtype("u1"), np.dtype("u2"), np.dtype("f4")):
            raise IsxWriteError(f"{path}: dtype {target} cannot be written; .isxd movies "
                                "hold uint8, uint16 or float32 pixels")
        return target.newbyteorder("<")
    src = source.newbyteorder("=")
    if src in (np.dtype("u1"), np.dtype("u2"), np.dtype("f4")):
        return src.newbyteorder("<")
    if src.kind == "b":
        return np.dtype("u1")
    if src.kind in "iuf" and src.itemsize <= 8:
        return np.dtype("<f4")
    raise IsxWriteError(f"{path}: frames of type {source} cannot be written to an .isxd "
                        "movie (uint8, uint16 or float32 pixels); convert them first")


def _convert(block: np.ndarray, target: np.dtype, path: str, first: int) -> np.ndarray:
    """``block`` (frames from ``first``) as ``target`` pixels, refusing any loss of range."""
    src = block.dtype
    if src == target:
        return block
    where = f"{path}: frames {first}..{first + len(block) - 1}"
    if block.size and target.kind == "f" and src.kind in "iu" and src.itemsize >= 4:
        lo, hi = int(block.min()), int(block.max())
        if max(-lo, hi) > FLOAT32_EXACT_INT:
            raise IsxWriteError(f"{where} hold {src} values {lo}..{hi}, beyond what float32 "
                                f"pixels hold exactly (|v| <= {FLOAT32_EXACT_INT}); pass "
                                "dtype= or scale the data first")
    if target.kind == "f" and src.kind == "f" and src.itemsize > 4:
        with np.errstate(over="ignore"):
            out = block.astype(target)
        overflow = np.isinf(out)
        if overflow.any() and not np.isinf(block[overflow]).all():
            big = float(np.max(np.abs(block[overflow & ~np.isinf(block)])))
            raise IsxWriteError(f"{where} hold values up to {big:g}, beyond float32's range "
                                f"(|v| <= {FLOAT32_MAX:g})")
        return out
    if target.kind == "u":
        if src.kind not in "biu":
            raise IsxWriteError(f"{where} are {src}; {target} pixels need integer frames "
                                "(round and convert them first)")
        info = np.iinfo(target)
        if block.size and (int(block.min()) < 0 or int(block.max()) > info.max):
            raise IsxWriteError(f"{where} hold values {int(block.min())}..{int(block.max())}, "
                                f"outside {target} (0..{info.max})")
    return block.astype(target)


# ---------------------------------------------------------------------- imaging
def _check_planar(extractor: Any, path: str) -> tuple[int, int]:
    if getattr(extractor, "is_volumetric", False):
        planes = extractor.get_num_planes()
        raise IsxWriteError(
            f"{path}: the imaging extractor is volumetric ({planes} planes); an .isxd movie "
            "holds one plane: write each plane to its own file with "
            "write_imaging(extractor.select_plane(k), ...) for k in 0.."
            f"{planes - 1}")
    shape = tuple(int(x) for x in extractor.get_image_shape())
    if len(shape) != 2:
        raise IsxWriteError(f"{path}: frame shape {shape} is not (rows, columns)")
    return shape  # type: ignore[return-value]


def _whole_movie(extractor: Any) -> MovieFile | None:
    """The movie an extractor of ours reads whole (every sample, or every valid one)."""
    from .imaging import InscopixImagingExtractor

    if not isinstance(extractor, InscopixImagingExtractor) or extractor.is_volumetric:
        return None
    args = extractor._kwargs  # the constructor's arguments (roiextractors keeps them)
    if not isinstance(args.get("file_path"), str | os.PathLike) \
            or args.get("plane") is not None or args.get("channel") is not None:
        return None
    movie = MovieFile(args["file_path"])
    n = extractor.get_num_samples()
    return movie if n in (movie.num_frames, movie.header.timing.num_valid) else None


def _imaging_plan(extractor: Any, path: str, shape: tuple[int, int],
                  start_time: _dt.datetime | None
                  ) -> tuple[TimingInfo, SpacingInfo, dict[str, Any] | None, np.ndarray]:
    """Timing, spacing, extraProperties, and the extractor samples to write in order."""
    n = int(extractor.get_num_samples())
    if n == 0:
        raise IsxWriteError(f"{path}: the imaging extractor has no samples to write")
    movie = _whole_movie(extractor)
    if movie is None:
        timing = _generic_timing(extractor, n, path, _reference(extractor, start_time))
        return timing, SpacingInfo(*shape), None, np.arange(n)
    timing = movie.timing
    if start_time is not None:
        timing = TimingInfo(timing.num_samples, timing.period, _as_time(start_time),
                            timing.dropped, timing.cropped, timing.blank)
    valid = timing.valid_mask()
    samples = np.flatnonzero(valid) if n == len(valid) else np.arange(n)
    return timing, movie.spacing, movie.extra_properties, samples


def _blocks(samples: np.ndarray, per_block: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of runs of consecutive ``samples``, at most ``per_block`` long."""
    if not len(samples):
        return
    for run in np.split(samples, np.flatnonzero(np.diff(samples) != 1) + 1):
        for lo in range(0, len(run), per_block):
            yield int(run[lo]), int(run[min(lo + per_block, len(run)) - 1]) + 1


def write_imaging(extractor: Any, path: PathLike, *, overwrite: bool = False,
                  start_time: _dt.datetime | None = None, dtype: Any = None,
                  block_bytes: int = BLOCK_BYTES) -> None:
    """Write a roiextractors ImagingExtractor as an Inscopix ``.isxd`` movie.

    Parameters
    ----------
    extractor
        Any planar ImagingExtractor (for a volumetric one, pass ``select_plane(k)``).
    path
        The ``.isxd`` file to write.
    overwrite
        Replace an existing file (otherwise :class:`FileExistsError`).
    start_time
        Timezone-aware start the extractor's timestamps are relative to (default: the
        source file's start for extractors of ours, else the Unix epoch).
    dtype
        Force the pixel type (uint8, uint16 or float32); values must fit.
    block_bytes
        Source bytes read per ``get_series`` call (memory use is a small multiple).

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    IsxWriteError
        The extractor cannot be written (volumetric, no samples, values that do not fit,
        timestamps that do not increase...).  Nothing is left under ``path``.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path}: file exists (pass overwrite=True to replace it)")
    shape = _check_planar(extractor, path)
    source = np.dtype(extractor.get_dtype())
    target = _target_dtype(source, dtype, path)
    timing, spacing, extra, samples = _imaging_plan(extractor, path, shape, start_time)
    if source.kind == "f" and target.kind == "f" and source.itemsize > target.itemsize:
        warnings.warn(f"{path}: {source} frames are written as float32 pixels (about 7 "
                      "significant digits)", PrecisionLossWarning, stacklevel=2)
    per_block = max(1, int(block_bytes) // max(1, shape[0] * shape[1] * source.itemsize))
    with MovieWriter(path, timing, spacing, target, overwrite=overwrite,
                     extra_properties=extra) as writer:
        for lo, hi in _blocks(samples, per_block):
            block = np.asarray(extractor.get_series(start_sample=lo, end_sample=hi))
            if block.shape != (hi - lo, *shape):
                raise IsxWriteError(f"{path}: get_series({lo}, {hi}) returned shape "
                                    f"{block.shape}; expected {(hi - lo, *shape)}")
            writer.write_frames(_convert(block, target, path, lo))
            del block


# ---------------------------------------------------------------------- segmentation
def _trace_name(extractor: Any, requested: str | None, path: str) -> str:
    available = [k for k, v in extractor.get_traces_dict().items() if v is not None]
    if requested is not None:
        if requested not in available:
            raise IsxWriteError(f"{path}: the segmentation extractor has no {requested!r} "
                                f"traces; it has {available}")
        return requested
    for name in TRACE_ORDER:
        if name in available:
            if name != "raw":
                warnings.warn(f"{path}: no 'raw' traces; writing the {name!r} traces",
                              UserWarning, stacklevel=3)
            return name
    if available:
        return available[0]
    raise IsxWriteError(f"{path}: the segmentation extractor has no traces to write")


def _property_owner(extractor: Any, key: str) -> Any:
    """The extractor whose property ``key`` a view shares (roiextractors 0.10's
    ``select_rois`` views copy their parent's full-length property arrays but index
    them with their own ROI positions, which misaligns them: ask the parent instead)."""
    for _ in range(16):
        parent = getattr(extractor, "_parent_segmentation", None)
        mine = getattr(extractor, "_properties", {}).get(key)
        theirs = getattr(parent, "_properties", {}).get(key) if parent is not None else None
        if mine is None or theirs is not mine:
            break
        extractor = parent
    return extractor


def _property(extractor: Any, keys: Sequence[str], ids: list[Any]) -> np.ndarray | None:
    present = set(extractor.get_property_keys())
    for key in keys:
        if key in present:
            return np.asarray(_property_owner(extractor, key).get_property(key, ids))
    return None


def _statuses(extractor: Any, ids: list[Any], path: str) -> list[int]:
    """Status codes from ``cell_status``, else accept / reject flags, else undecided."""
    if not ids:
        return []
    status = _property(extractor, ("cell_status",), ids)
    if status is not None:
        return [status_code(s.item() if hasattr(s, "item") else s, f"{path}: cell")
                for s in status]
    accepted = _property(extractor, ACCEPT_KEYS, ids)
    rejected = _property(extractor, REJECT_KEYS, ids)
    if accepted is None and rejected is None:
        return [STATUS_NAMES.index("undecided")] * len(ids)
    acc = accepted.astype(bool) if accepted is not None else ~rejected.astype(bool)  # type: ignore[union-attr]
    rej = rejected.astype(bool) if rejected is not None else ~acc
    # rejected wins over accepted; neither flag set is undecided
    return [2 if r else 0 if a else 1 for a, r in zip(acc.tolist(), rej.tolist(), strict=True)]


def _frame_shape(extractor: Any, path: str) -> tuple[int, int]:
    masks = getattr(extractor, "_roi_masks", None)
    shape = tuple(masks.field_of_view_shape) if masks is not None \
        else tuple(extractor.get_frame_shape())
    if len(shape) != 2 or extractor.get_num_planes() != 1:
        raise IsxWriteError(f"{path}: the segmentation is volumetric (field of view {shape}); "
                            "an .isxd cell set holds one plane")
    return int(shape[0]), int(shape[1])


def _footprints(extractor: Any, ids: list[Any], shape: tuple[int, int]) -> np.ndarray:
    """Image masks of ``ids`` as ``(cells, rows, cols)`` float32 (pixel masks densified)."""
    try:
        masks = np.asarray(extractor.get_roi_image_masks(roi_ids=ids))
        return np.moveaxis(masks, -1, 0).astype(np.float32)
    except NotImplementedError:
        out = np.zeros((len(ids), *shape), np.float32)
        for k, mask in enumerate(extractor.get_roi_pixel_masks(roi_ids=ids)):
            mask = np.asarray(mask)
            out[k, mask[:, 0].astype(int), mask[:, 1].astype(int)] = mask[:, 2]
        return out


def _cell_set_plan(extractor: Any, path: str, n: int, start_time: _dt.datetime | None
                   ) -> tuple[TimingInfo, SpacingInfo | None, dict[str, Any]]:
    """Timing, spacing (None: from the masks) and writer keywords for the cell set."""
    cells = getattr(extractor, "cell_set", None) if _is_ours(extractor) else None
    if cells is None:
        timing = _generic_timing(extractor, n, path, _reference(extractor, start_time))
        return timing, None, {}
    timing = cells.timing
    if start_time is not None:
        timing = TimingInfo(timing.num_samples, timing.period, _as_time(start_time),
                            timing.dropped, timing.cropped, timing.blank)
    keep = {"extra_properties": cells.extra_properties,
            "efocus_values": cells.efocus_values,
            "is_roi_set": cells.header.is_roi_set,
            "cell_metrics": cells.cell_metrics}
    return timing, cells.spacing, keep


def _cell_metadata(extractor: Any, ids: list[Any], path: str,
                   names: Sequence[str] | None, statuses: Sequence[Any] | None
                   ) -> dict[str, list[Any]]:
    """Per-cell names, statuses (and colours / activity for extractors of ours)."""
    for key, given in (("names", names), ("statuses", statuses)):
        if given is not None and len(given) != len(ids):
            raise IsxWriteError(f"{path}: {len(given)} {key} given for {len(ids)} ROIs")
    cells = getattr(extractor, "cell_set", None) if _is_ours(extractor) else None
    if names is not None:
        names = [str(x) for x in names]
    elif cells is not None:
        names = list(cells.names)
    meta: dict[str, list[Any]] = {
        "names": names if names is not None else [str(i) for i in ids],
        "statuses": _statuses(extractor, ids, path) if statuses is None
        else [status_code(s, f"{path}: cell") for s in statuses],
    }
    if cells is not None:
        meta.update(colors=cells.colors, activity=cells.activity)
    return meta


def write_segmentation(extractor: Any, path: PathLike, *, overwrite: bool = False,
                       start_time: _dt.datetime | None = None, trace_name: str | None = None,
                       names: Sequence[str] | None = None,
                       statuses: Sequence[int | str] | None = None) -> None:
    """Write a roiextractors SegmentationExtractor as an Inscopix ``.isxd`` cell set.

    Parameters
    ----------
    extractor
        Any planar SegmentationExtractor (background components are not written).
    path
        The ``.isxd`` file to write.
    overwrite
        Replace an existing file (otherwise :class:`FileExistsError`).
    start_time
        Timezone-aware start the extractor's timestamps are relative to (default: the
        source file's start for extractors of ours, else the Unix epoch).
    trace_name
        Response to write as the cell traces (default ``"raw"``, else the first present
        of ``dff``, ``denoised``, ``deconvolved``..., with a warning).
    names, statuses
        Per-ROI names / statuses (0-2 or 'accepted' / 'undecided' / 'rejected') that
        replace those taken from the extractor.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    IsxWriteError
        The extractor cannot be written (volumetric, no traces, mismatched shapes, bad
        statuses...).  Nothing is left under ``path``.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path}: file exists (pass overwrite=True to replace it)")
    shape = _frame_shape(extractor, path)
    ids = list(extractor.get_roi_ids())
    name = _trace_name(extractor, trace_name, path) if ids else None
    traces = np.asarray(extractor.get_traces(name=name)) if name else \
        np.zeros((int(extractor.get_num_samples() or 0), 0), np.float32)
    if traces.ndim != 2 or traces.shape[1] != len(ids):
        raise IsxWriteError(f"{path}: {name!r} traces have shape {traces.shape}; expected "
                            f"(time, {len(ids)} ROIs)")
    timing, spacing, keep = _cell_set_plan(extractor, path, traces.shape[0], start_time)
    meta = _cell_metadata(extractor, ids, path, names, statuses)
    with CellSetWriter(path, timing, spacing or SpacingInfo(*shape), overwrite=overwrite,
                       **keep) as writer:
        for lo in range(0, len(ids), CHUNK_CELLS):
            part = slice(lo, lo + CHUNK_CELLS)
            writer.write_cells(_footprints(extractor, ids[part], shape), traces[:, part].T,
                               **{k: v[part] for k, v in meta.items()})
