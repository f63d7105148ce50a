"""``InscopixImagingExtractor``: an Inscopix movie as a roiextractors ImagingExtractor.

Frames are slices of the memory map (no per-frame loop); timestamps come from the
frames' hardware clock (TSC) where the file has one; multiplane acquisitions are
volumetric or one plane at a time; dual-colour movies give one colour at a time; a
list of files of one recording is one series.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from roiextractors import ImagingExtractor

from .._io import is_url
from .._lazy import RecordArray
from ..api import open as open_file
from ..errors import IsxTypeError
from ..formats.common import Time, TimingInfo
from ..formats.movie import MovieFile
from ..planes import SubMovie, channel_pattern, frame_offsets, num_planes, split_planes
from ..series import ConcatArray, MovieSeries
from ._metadata import InscopixMetadataMixin

__all__ = ["InscopixImagingExtractor"]

PathLike = str | os.PathLike[str]


@dataclass
class _Member:
    """One file's contribution: per-plane lazy frames, times from its start, validity."""

    movie: MovieFile
    planes: list[RecordArray]  #: one (samples, rows, cols) array per plane
    offsets: np.ndarray  #: seconds from this file's start (NaN where invalid)
    valid: np.ndarray  #: True where every plane's frame is stored and valid
    rate: float  #: samples per second
    efocus: list[int | None]
    labels: np.ndarray  #: why a sample is invalid ("dropped", ...; "" when valid)

    @property
    def start(self) -> Fraction:
        return self.movie.timing.start.secs_since_epoch.fraction

    def restrict(self, keep: np.ndarray) -> _Member:
        planes = [_remap(p, p.index_map[keep]) for p in self.planes]
        return _Member(self.movie, planes, self.offsets[keep], self.valid[keep], self.rate,
                       self.efocus, self.labels[keep])


def _remap(arr: RecordArray, index_map: np.ndarray) -> RecordArray:
    """The same stored records as ``arr`` through another index map (-1 reads zeros)."""
    return RecordArray(arr.path, arr.offset, arr.record_items, arr.item_start, arr.item_shape,
                       arr.n_records, arr.dtype, index_map)


def _strided(movie: MovieFile, phase: int, stride: int, length: int) -> RecordArray:
    """Samples ``phase, phase + stride, ...`` of ``movie``, padded with zeros to ``length``."""
    index = movie._index[phase::stride]
    index = np.concatenate([index, np.full(length - len(index), -1, np.int64)])
    return _remap(movie.data, index)


def sample_labels(timing: TimingInfo) -> np.ndarray:
    """Per sample: "dropped", "cropped", "blank", or "" for a valid sample."""
    labels = np.full(timing.num_samples, "", dtype="U7")
    for first, last in timing.cropped:
        labels[first:last + 1] = "cropped"
    for name, indices in (("dropped", timing.dropped), ("blank", timing.blank)):
        idx = np.asarray(indices, dtype=np.int64)
        labels[idx[idx < timing.num_samples]] = name
    return labels


def _stamp(path: str) -> tuple[int, int]:
    """(size, modification time) of a file: a changed file misses the cache below."""
    if is_url(path):  # a remote file: its size (no modification time to ask for)
        return open_file(path).source.size, 0
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _plane_focus(path: str, size: int, mtime_ns: int) -> list[int | None]:
    """The efocus of each plane (decoding every frame header once per file, not per plane)."""
    return [sub.efocus for sub in split_planes(MovieFile(path))]


def _phases(movie: MovieFile, plane: int | None, channel: str | None
            ) -> tuple[list[int], int, list[int | None]]:
    """(phase of each plane, stride, efocus of each plane) of the selected samples."""
    path, extra = movie.path, movie.extra_properties
    count = num_planes(extra)
    pattern = channel_pattern(extra)
    if channel is not None:
        if len(pattern) < 2 and channel in pattern:
            return [0], 1, [None]
        if channel not in pattern or sorted(pattern) != ["green", "red"]:
            raise IsxTypeError(path, f"no channel {channel!r} to select (1:1 multiplexed "
                               "dual-colour movies can be split)",
                               expected=f"one of {pattern or ['(one channel)']}",
                               found=repr(channel))
        if count > 1:
            raise IsxTypeError(path, "selecting a colour of a multiplane movie is not "
                               "supported", found=f"{count} planes")
        return [pattern.index(channel)], 2, [None]
    if count == 1:
        if plane not in (None, 0):
            raise IsxTypeError(path, f"plane {plane} requested, the movie has one plane",
                               expected="plane=None or 0", found=plane)
        return [0], 1, [None]
    focus = _plane_focus(movie.path, *_stamp(movie.path))
    if plane is None:
        return list(range(count)), count, focus
    if not 0 <= plane < count:
        raise IsxTypeError(path, f"plane {plane} requested", expected=f"a plane in "
                           f"0..{count - 1} (0-based)", found=plane)
    return [plane], count, [focus[plane]]


def _member(movie: MovieFile, plane: int | None, channel: str | None) -> _Member:
    phases, stride, focus = _phases(movie, plane, channel)
    length = -(-movie.num_frames // stride) if len(phases) > 1 else None
    arrays = []
    for phase in phases:
        n = length if length is not None else max(0, -(-(movie.num_frames - phase) // stride))
        arrays.append(_strided(movie, phase, stride, n))
    n = len(arrays[0])
    all_offsets = frame_offsets(movie)
    valid = np.logical_and.reduce([a.index_map >= 0 for a in arrays])
    offsets = np.full(n, np.nan)
    first = all_offsets[phases[0]::stride]
    offsets[:len(first)] = first
    offsets[~valid] = np.nan
    labels = np.full(n, "missing", dtype="U7")  # a partial last volume lacks frames
    for phase in phases:
        own = sample_labels(movie.timing)[phase::stride]
        labels[:len(own)] = np.where(labels[:len(own)] == "missing", own, labels[:len(own)])
    labels[valid] = ""
    if stride == 1:
        rate = movie.timing.sampling_rate
    else:
        rate = SubMovie(movie, phases[0], stride, "").timing.sampling_rate
    return _Member(movie, arrays, offsets, valid, rate, focus, labels)


def _fill_invalid(offsets: np.ndarray, period: float) -> np.ndarray:
    """Times for invalid samples: interpolated between valid neighbours, else by period."""
    ok = ~np.isnan(offsets)
    idx = np.arange(len(offsets), dtype=np.float64)
    if not ok.any():
        return idx * period
    known, at = offsets[ok], idx[ok]
    out = np.interp(idx, at, known)
    out[idx < at[0]] = known[0] + (idx[idx < at[0]] - at[0]) * period
    out[idx > at[-1]] = known[-1] + (idx[idx > at[-1]] - at[-1]) * period
    return out


class InscopixImagingExtractor(InscopixMetadataMixin, ImagingExtractor):
    """An Inscopix ``.isxd`` movie (or the files of one recording) as an ImagingExtractor.

    Parameters
    ----------
    file_path
        One ``.isxd`` movie, or a list of the movies of one recording (concatenated in
        time order; timestamps keep the gaps between files).
    plane
        Multiplane acquisitions: ``None`` (default) is volumetric, ``(time, rows,
        columns, planes)``; ``k`` (0-based) is plane ``k`` alone with its own timestamps.
        A plane already split out by IDPS is an ordinary movie.
    channel
        Dual-colour multiplexed movies: ``"green"`` or ``"red"``.
    exclude_invalid_samples
        Keep only valid samples (not dropped, cropped or blank) and their timestamps.
        By default every stored sample is returned, invalid ones as zeros (as isx does).
    """

    extractor_name = "InscopixImaging"

    def __init__(self, file_path: PathLike | Sequence[PathLike], *, plane: int | None = None,
                 channel: str | None = None, exclude_invalid_samples: bool = False) -> None:
        super().__init__(file_path=file_path, plane=plane, channel=channel,
                         exclude_invalid_samples=exclude_invalid_samples)
        paths = [file_path] if isinstance(file_path, str | os.PathLike) else list(file_path)
        if not paths:
            raise ValueError("InscopixImagingExtractor needs at least one file")
        movies = [self._open_movie(p) for p in paths]
        if len(movies) > 1:
            movies = MovieSeries(movies).members  # sorted by start, checked to fit together
        self._movies = movies
        self._plane, self._channel = plane, channel
        members = [_member(m, plane, channel) for m in movies]
        if len({len(m.planes) for m in members}) != 1:
            raise IsxTypeError(paths[0], "the files of the series have different numbers "
                               "of planes", found=[len(m.planes) for m in members])
        origin = members[0].start
        offsets = np.concatenate([m.offsets + float(m.start - origin) for m in members])
        valid = np.concatenate([m.valid for m in members])
        self._rate = members[0].rate
        self._all_labels = np.concatenate([m.labels for m in members])
        self._all_offsets = _fill_invalid(offsets, 1.0 / self._rate)
        keep = valid if exclude_invalid_samples else np.ones(len(valid), bool)
        if exclude_invalid_samples:
            members = [m.restrict(np.flatnonzero(m.valid)) for m in members]
        self._members = members
        self._valid = valid[keep]
        self._native = self._all_offsets[keep]
        self._frames = [p[0] if len(members) == 1 else ConcatArray(p)
                        for p in zip(*(m.planes for m in members), strict=True)]
        self.is_volumetric = len(self._frames) > 1

    @staticmethod
    def _open_movie(path: PathLike) -> MovieFile:
        reader = open_file(path)
        if not isinstance(reader, MovieFile):
            raise IsxTypeError(path, "not a movie (InscopixImagingExtractor reads .isxd "
                               "movies)", expected="a movie", found=type(reader).__name__)
        return reader

    # ------------------------------------------------------------ roiextractors API
    def get_image_shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of a frame."""
        return tuple(self._movies[0].spacing.shape)  # type: ignore[return-value]

    def get_num_samples(self) -> int:
        return len(self._valid)

    def get_num_planes(self) -> int:
        if not self.is_volumetric:
            return super().get_num_planes()
        return len(self._frames)

    def get_sampling_frequency(self) -> float:
        """Samples (volumes for a volumetric extractor) per second."""
        return float(self._rate)

    def get_dtype(self) -> np.dtype:
        return np.dtype(self._frames[0].dtype)

    def _read(self, key: Any) -> np.ndarray:
        if not self.is_volumetric:
            return np.asarray(self._frames[0][key])
        return np.stack([np.asarray(f[key]) for f in self._frames], axis=-1)

    def get_series(self, start_sample: int | None = None, end_sample: int | None = None
                   ) -> np.ndarray:
        """Samples ``[start_sample, end_sample)`` as ``(time, rows, columns[, planes])``."""
        return self._read(slice(start_sample, end_sample))

    def get_samples(self, sample_indices: Any) -> np.ndarray:
        """Samples at any indices, in the order given (repeats allowed)."""
        idx = np.asarray(sample_indices, dtype=np.int64).reshape(-1)
        n = self.get_num_samples()
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"sample indices must be in -{n}..{n - 1}")
        return self._read(idx % n if n else idx)

    def get_native_timestamps(self, start_sample: int | None = None,
                              end_sample: int | None = None) -> np.ndarray:
        """Seconds from the recording's start time, one per sample (never None).

        From the frames' hardware timestamps (TSC) where the file has them, else
        ``start + k × period``; dropped frames get times interpolated between their
        valid neighbours.
        """
        return self._native[start_sample:end_sample].copy()

    def get_invalid_sample_mask(self) -> np.ndarray:
        """True for samples that are dropped, cropped or blank (zeros in the data)."""
        return ~self._valid

    def get_invalid_intervals(self) -> list[tuple[float, float, str]]:
        """Runs of invalid samples as ``(start_s, stop_s, reason)``, seconds from the start.

        Reasons: "dropped", "cropped", "blank" (and "missing" for the frames a partial
        last volume lacks).  Listed whether or not ``exclude_invalid_samples`` removed
        those samples; a run ends one sample period after its last sample.
        """
        labels, times = self._all_labels, self._all_offsets
        edges = np.flatnonzero(labels[1:] != labels[:-1]) + 1
        starts = np.concatenate([[0], edges])
        stops = np.concatenate([edges, [len(labels)]])
        period = 1.0 / self._rate
        return [(float(times[a]), float(times[b - 1] + period), str(labels[a]))
                for a, b in zip(starts, stops, strict=True) if len(labels) and labels[a]]

    def select_plane(self, plane_index: int) -> InscopixImagingExtractor:
        """Plane ``plane_index`` (0-based) of a volumetric extractor, read on its own."""
        if not self.is_volumetric:
            raise ValueError("select_plane is only valid for volumetric extractors.")
        if not 0 <= plane_index < self.get_num_planes():
            raise ValueError(f"plane_index must be in 0..{self.get_num_planes() - 1}")
        return type(self)(self._kwargs["file_path"], plane=plane_index,
                          exclude_invalid_samples=self._kwargs["exclude_invalid_samples"])

    # ------------------------------------------------------------ isxio extras
    def release_memory_maps(self) -> None:
        """Drop the memory maps of the frames (reopened on the next read).

        Pages of a memory-mapped file count in the process's RSS while the map lives:
        a streaming writer calls this after each block to keep RSS bounded.
        """
        for frames in self._frames:
            for part in getattr(frames, "parts", [frames]):
                part.close()

    @property
    def file_paths(self) -> list[str]:
        """The files read, in time order."""
        return [m.path for m in self._movies]

    @property
    def efocus(self) -> list[int | None]:
        """Electronic focus of each plane read (None where the file does not say)."""
        return list(self._members[0].efocus)

    def _extra_properties(self) -> dict[str, Any] | None:
        return self._movies[0].extra_properties

    def _start(self) -> Time:
        return self._movies[0].timing.start

    def _get_device_info(self) -> dict[str, Any]:
        info = super()._get_device_info()
        if len(self.efocus) == 1 and self.efocus[0] is not None:
            info["efocus"] = self.efocus[0]
        return info
