"""Input adapters: anything :func:`isxio.imwrite` accepts, as a :class:`Source`.

Inscopix readers (``MovieFile``, ``IsxbFile``), :class:`~isxio.series.MovieSeries`,
per-plane views (:class:`~isxio.planes.SubMovie`), paths (opened with
:func:`isxio.open`; a list is one series; a ``.zarr``/``.h5`` written by imwrite is read
back with its metadata), numpy/dask arrays with a ``dim_order`` and roiextractors
imaging extractors.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np

from ..formats.common import SpacingInfo, Time
from ..planes import (
    SubMovie,
    channel_pattern,
    frame_offsets,
    num_planes,
    split_channels,
    split_planes,
)
from ..series import MovieSeries
from ._source import Source, Stream, timing_from_rate

__all__ = ["as_source", "plane_extra"]

DIM_ORDERS = ("TYX", "TZYX", "TCYX", "YX")


def _offsets(reader: Any) -> np.ndarray | None:
    try:
        return frame_offsets(reader)
    except (AttributeError, TypeError):
        return None


def _tsc(reader: Any) -> np.ndarray | None:
    if not getattr(reader, "has_frame_timestamps", False):
        return None
    return np.asarray(reader.tsc, np.uint64)


def _reader_stream(reader: Any) -> Stream:
    """One stream of a whole reader, with its frame headers/footers when it has them."""
    header = getattr(reader, "header", None)
    framed = bool(getattr(header, "has_frame_header_footer", False))
    return Stream(reader.data, "", reader.timing, getattr(header, "timing", reader.timing),
                  _offsets(reader), _tsc(reader),
                  reader.frame_headers if framed else None,
                  reader.frame_footers if framed else None)


def _sub_stream(sub: SubMovie, label: str) -> Stream:
    movie = sub.movie
    offsets = frame_offsets(movie)[sub.phase::sub.stride] \
        - float(sub.phase * movie.timing.period.fraction)
    return Stream(sub.data, label, sub.timing, None, offsets, sub.tsc, None, None, sub.efocus)


def _from_movie(movie: Any, split: bool = True) -> Source:
    """A MovieFile: split into planes (multiplane) or channels (multiplexed dual colour)
    unless ``split`` is false.

    A movie kept whole carries its trailer's JSON text, so that the ``.isxd`` target
    can write it back verbatim.
    """
    extra = movie.extra_properties
    base = dict(spacing=movie.spacing, dtype=np.dtype(movie.dtype), extra_properties=extra,
                name=os.path.basename(movie.path), kind="isxd",
                producer=getattr(movie.header, "producer", None))
    if split and num_planes(extra) > 1:
        subs = split_planes(movie)
        return Source([_sub_stream(s, f"plane{k}") for k, s in enumerate(subs)], "z", **base)
    if split and len(channel_pattern(extra)) > 1:
        subs = split_channels(movie)
        return Source([_sub_stream(s, label) for label, s in subs.items()], "c", **base)
    text = getattr(getattr(movie, "trailer", None), "text", b"")
    return Source([_reader_stream(movie)], "", **base, trailer=bytes(text) or None)


def _from_reader(reader: Any) -> Source:
    if type(reader).__name__ == "MovieFile":
        return _from_movie(reader)
    return Source([_reader_stream(reader)], "", reader.spacing, np.dtype(reader.dtype),
                  getattr(reader, "extra_properties", None), os.path.basename(reader.path),
                  os.path.splitext(reader.path)[1].lstrip(".").lower())


def _from_series(series: MovieSeries) -> Source:
    timing = series.timing
    offsets = series.timestamps() - float(timing.start.secs_since_epoch.fraction)
    first = series.members[0]
    return Source([Stream(series.data, "", timing, None, offsets)], "", series.spacing,
                  series.dtype, getattr(first, "extra_properties", None),
                  os.path.basename(first.path), "series")


def _from_submovie(sub: SubMovie) -> Source:
    stream = _sub_stream(sub, sub.label)
    extra = plane_extra(sub.extra_properties, stream)
    return Source([stream], "", sub.spacing, np.dtype(sub.dtype), extra,
                  os.path.basename(sub.path), "isxd")


def plane_extra(extra: dict[str, Any] | None, stream: Stream) -> dict[str, Any] | None:
    """Metadata of one plane/channel written on its own, marked as IDPS marks a split.

    A plane gets ``idps.efocus`` (so that readers no longer see a multiplane movie);
    a channel gets ``microscope.dualColor.mode = "single"`` with its channel.  The rest
    is kept verbatim.
    """
    if extra is None or not stream.label:
        return extra
    out = copy.deepcopy(extra)
    if stream.label.startswith("plane"):
        out.setdefault("idps", {})["efocus"] = stream.efocus if stream.efocus is not None \
            else int(stream.label[5:])
    else:
        dual = out.get("microscope", {}).get("dualColor")
        if isinstance(dual, dict):
            dual["mode"] = "single"
            dual.setdefault("single", {})["channel"] = stream.label
        out.setdefault("idps", {})["channel"] = stream.label
    return out


# ---------------------------------------------------------------- arrays
class _AxisView:
    """``arr[:, k]`` of a 4-D array, read lazily block by block."""

    def __init__(self, arr: Any, k: int) -> None:
        self.arr, self.k = arr, k
        self.shape = (arr.shape[0], *arr.shape[2:])
        self.dtype = np.dtype(arr.dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(self.arr[key][:, self.k] if not np.isscalar(key)
                          else self.arr[key][self.k])


def _from_array(arr: Any, dim_order: str | None, fs: float | None) -> Source:
    order = (dim_order or {2: "YX", 3: "TYX"}.get(arr.ndim, "")).upper()
    if order not in DIM_ORDERS:
        raise ValueError(f"dim_order must be one of {DIM_ORDERS} (got {dim_order!r} for an "
                         f"array of shape {tuple(arr.shape)}); 4-D arrays need it")
    if len(order) != arr.ndim:
        raise ValueError(f"dim_order {order!r} does not match an array of shape "
                         f"{tuple(arr.shape)}")
    if order == "YX":
        arr, order = arr[None], "TYX"
    n = int(arr.shape[0])
    timing = timing_from_rate(n, fs) if fs else None
    offsets = timing.offsets() if timing is not None else None
    if order == "TYX":
        streams = [Stream(arr, "", timing, None, offsets)]
    else:
        prefix = "plane" if order[1] == "Z" else "channel"
        streams = [Stream(_AxisView(arr, k), f"{prefix}{k}", timing, None, offsets)
                   for k in range(int(arr.shape[1]))]
    return Source(streams, "" if order == "TYX" else order[1].lower(),
                  SpacingInfo(int(arr.shape[-2]), int(arr.shape[-1])), np.dtype(arr.dtype),
                  None, "array", "array")


# ---------------------------------------------------------------- extractors
class _ExtractorPlane:
    """Plane ``k`` (or the only plane) of a roiextractors ImagingExtractor, lazily."""

    def __init__(self, ext: Any, k: int | None) -> None:
        self.ext, self.k = ext, k
        self.shape = (int(ext.get_num_samples()), *tuple(ext.get_image_shape()))
        self.dtype = np.dtype(ext.get_dtype())

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            lo, hi, step = key.indices(self.shape[0])
            out = np.asarray(self.ext.get_series(lo, hi))[::step]
        else:
            out = np.asarray(self.ext.get_samples(np.atleast_1d(key)))
            out = out[0] if np.isscalar(key) else out
        return out if self.k is None else out[..., self.k]

    def close(self) -> None:
        free = getattr(self.ext, "release_memory_maps", None)
        if callable(free):
            free()


def _from_extractor(ext: Any, fs: float | None) -> Source:
    n = int(ext.get_num_samples())
    mask = getattr(ext, "get_invalid_sample_mask", None)
    valid = ~np.asarray(mask(), bool) if callable(mask) else None
    start = ext._start() if callable(getattr(ext, "_start", None)) else Time()
    timing = timing_from_rate(n, fs or float(ext.get_sampling_frequency()), start, valid)
    offsets = np.asarray(ext.get_timestamps(), np.float64)
    if valid is not None:
        offsets = np.where(valid, offsets, np.nan)
    planes = int(ext.get_num_planes()) if getattr(ext, "is_volumetric", False) else 1
    efocus = list(getattr(ext, "efocus", None) or [None] * planes)
    streams = [Stream(_ExtractorPlane(ext, k if planes > 1 else None),
                      f"plane{k}" if planes > 1 else "", timing, None, offsets,
                      efocus=efocus[k] if k < len(efocus) else None) for k in range(planes)]
    movies = getattr(ext, "_movies", None)
    spacing = movies[0].spacing if movies else SpacingInfo(*ext.get_image_shape())
    extra = ext._extra_properties() if callable(getattr(ext, "_extra_properties", None)) \
        else None
    return Source(streams, "z" if planes > 1 else "", spacing, np.dtype(ext.get_dtype()),
                  extra, type(ext).__name__, "extractor")


# ---------------------------------------------------------------- dispatch
def _from_path(path: str) -> Source:
    from ..api import open as open_file
    from ._stores import is_store, read_store

    if is_store(path):
        return read_store(path)
    reader = open_file(path)
    if not hasattr(reader, "data") or not hasattr(reader, "spacing"):
        raise TypeError(f"{path}: not a movie ({type(reader).__name__}); imwrite writes "
                        "movies and images")
    return _from_reader(reader)


def as_source(data: Any, *, dim_order: str | None = None, fs: float | None = None) -> Source:
    """Any input imwrite accepts as a :class:`Source` (nothing is read yet)."""
    if isinstance(data, str | os.PathLike):
        return _from_path(os.fspath(data))
    if isinstance(data, list | tuple) and data and all(
            isinstance(p, str | os.PathLike) for p in data):
        from ..series import open_series

        return _from_series(open_series(data)) if len(data) > 1 else _from_path(
            os.fspath(data[0]))
    if isinstance(data, Source):
        return data
    if isinstance(data, MovieSeries):
        return _from_series(data)
    if isinstance(data, SubMovie):
        return _from_submovie(data)
    if hasattr(data, "get_series") and hasattr(data, "get_image_shape"):
        return _from_extractor(data, fs)
    if hasattr(data, "timing") and hasattr(data, "data") and hasattr(data, "spacing"):
        return _from_reader(data)
    if hasattr(data, "shape") and hasattr(data, "dtype") and hasattr(data, "__getitem__"):
        return _from_array(data, dim_order, fs)
    raise TypeError(f"imwrite cannot read {type(data).__name__}: give a path, an isxio "
                    "reader, a MovieSeries, a SubMovie, an array with dim_order or a "
                    "roiextractors ImagingExtractor")
