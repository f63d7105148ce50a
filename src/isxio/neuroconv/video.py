"""nVision behaviour movies (``.isxb``) to NWB: the video, its frame times and the tracking.

:class:`InscopixBehaviorVideoInterface` writes one ``ImageSeries`` for an ``.isxb`` file
or the parts of one scheduled recording, in one of two modes:

``external`` (default)
    Each part's MJPEG stream is copied, packet by packet and without re-encoding, into a
    video container (``.mkv``, ``.mov`` or ``.avi``, formats DANDI organises) beside the
    NWB file; the ``ImageSeries`` links to it (``format="external"``, paths relative to
    the NWB file, ``starting_frame`` per part).
``internal``
    The decoded frames (the JPEG luma plane, as isx and isxio return them) are streamed
    into the NWB file, one frame per chunk, compressed by the backend.

Only the frames the camera stored are written: dropped frames have no image and no
hardware timestamp.  Frame times are seconds from the first part's start, from the
per-frame hardware counter (TSC, µs) exactly as isx's ``time_ref='start'`` timestamps.
nVision tracking (bounding box, its centre, confidence, zones and zone occupancy) goes
to the ``behavior`` processing module.
"""

from __future__ import annotations

import math
import os
import uuid
import warnings
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
from hdmf.common import DynamicTable
from hdmf.data_utils import GenericDataChunkIterator
from neuroconv.tools.nwb_helpers import get_module
from neuroconv.tools.nwb_helpers._metadata_and_file_helpers import _add_device_to_nwbfile
from neuroconv.utils import DeepDict, calculate_regular_series_rate, get_schema_from_hdmf_class
from pydantic import FilePath
from pynwb import NWBFile, TimeSeries
from pynwb.behavior import BehavioralTimeSeries, Position, SpatialSeries
from pynwb.epoch import TimeIntervals
from pynwb.image import ImageSeries

from .._optional import require
from ..errors import IsxFormatError, IsxFormatWarning
from ..formats.common import Time
from ..formats.isxb import IsxbFile, Tracking
from ..series import MovieSeries
from ._base import InscopixTimedInterface

__all__ = ["CONTAINERS", "InscopixBehaviorVideoInterface", "IsxbFrameIterator", "frame_times",
           "mux_isxb"]

#: video container suffix -> FFmpeg muxer (formats DANDI accepts for external video)
CONTAINERS = {".mkv": "matroska", ".mov": "mov", ".avi": "avi"}
#: a later part whose TSC-derived start is further than this from its stored start is
#: taken to be on another clock (its frames are then anchored at its own start)
TSC_TOLERANCE_S = 1.0
_VIDEO_KEYS = {"external": "ExternalVideos", "internal": "InternalVideos"}
# acquisition-info key -> where it goes (table, not if-chains)
_DEVICE_INFO = ("Camera Name", "Camera Brightness", "Camera Contrast", "Camera Saturation",
                "Camera Gain", "Camera Exposure Time (ms)")
_SERIES_INFO = ("Behavior Session Name", "Behavior Acquisition SW Version", "Recording UUID",
                "Miniscope Paired", "Miniscope Synced", "Miniscope Session Name",
                "Miniscope Serial Number")
_ZONE_COLUMNS = (("zone_id", "Zone id as stored in the session metadata."),
                 ("enabled", "Whether the zone was enabled."),
                 ("zone_description", "Zone description."),
                 ("geometry", "Geometry: rectangle, polygon or ellipse ('' if unknown)."),
                 ("major_axis", "Ellipse: full major axis length (pixels); 0 otherwise."),
                 ("minor_axis", "Ellipse: full minor axis length (pixels); 0 otherwise."),
                 ("angle", "Ellipse: rotation in degrees; 0 otherwise."))


# ============================================================== timestamps
def _first_tsc(movie: IsxbFile) -> int:
    """TSC (µs) of frame 0, extrapolated back from the first stored frame (isx's rule)."""
    k = int(np.flatnonzero(movie.valid_mask)[0])
    exact = Fraction(int(movie.tsc[k])) - movie.timing.period.fraction * 1_000_000 * k
    return math.floor(exact + Fraction(1, 2))


def frame_times(parts: Sequence[IsxbFile]) -> list[np.ndarray]:
    """Per part, the stored frames' times in seconds from the first part's start.

    Frames of parts with per-frame TSCs are timed by ``(tsc - first TSC) / 1e6`` (the
    first TSC being frame 0's of the first part), as isx's ``'start'`` timestamps; parts
    without TSCs (or on another clock) by their start and period.
    """
    t0 = parts[0].timing.start.secs_since_epoch.fraction
    usable = [p for p in parts if p.has_frame_timestamps and p.valid_mask.any()]
    base = _first_tsc(parts[0]) if usable and usable[0] is parts[0] else None
    out = []
    for p in parts:
        valid = p.valid_mask
        nominal = float(p.timing.start.secs_since_epoch.fraction - t0) + p.timing.offsets()[valid]
        if base is None or not p.has_frame_timestamps or not valid.any():
            out.append(nominal)
            continue
        times = (p.tsc[valid].astype(np.int64) - base) / 1e6
        if abs(times[0] - nominal[0]) > TSC_TOLERANCE_S:
            warnings.warn(f"{p.path}: the hardware timestamps disagree with the start time by "
                          f"{times[0] - nominal[0]:.3f} s; this part is timed from its own start",
                          IsxFormatWarning, stacklevel=2)
            times += nominal[0] - times[0]
        out.append(times)
    return out


# ============================================================== external video
def _container_pts(times: np.ndarray, container: str, period: Fraction,
                   path: str) -> tuple[Fraction, np.ndarray]:
    """Time base and per-packet pts of the output container."""
    if container == ".avi":  # AVI has a constant frame rate: frame k at k periods
        return period.limit_denominator(65535), np.arange(len(times), dtype=np.int64)
    pts = np.round((times - times[0]) * 1e6).astype(np.int64)
    if container == ".mkv" and np.any(np.diff(np.round(pts / 1000)) <= 0):
        raise ValueError(f"{path}: frames less than 1 ms apart cannot be timed in .mkv "
                         "(millisecond resolution); use container='.mov'")
    return Fraction(1, 1_000_000), pts


def _pixel_format(av: Any, jpeg: bytes, path: str) -> str:
    codec = av.CodecContext.create("mjpeg", "r")
    frames = codec.decode(av.Packet(jpeg))
    if not frames:
        raise IsxFormatError(path, "the first stored JPEG does not decode")
    return frames[0].format.name


def _read_jpegs(part: IsxbFile):
    """The stored JPEGs of ``part``, in order, read through one file handle."""
    base = part.header.video_offset
    with open(part.path, "rb") as fh:
        for a, b in part.jpeg_extents.tolist():
            fh.seek(base + a)
            yield fh.read(b - a)


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Move a finished temporary file to its name; never replace a file unless asked."""
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic, and fails if the target exists
    except FileExistsError:
        tmp.unlink()
        raise FileExistsError(f"{target} already exists; pass overwrite_video=True to "
                              "replace it") from None
    except OSError:  # file system without hard links
        if target.exists():
            tmp.unlink()
            raise FileExistsError(f"{target} already exists; pass overwrite_video=True to "
                                  "replace it") from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def mux_isxb(part: IsxbFile, target: str | os.PathLike[str], *, times: np.ndarray | None = None,
             overwrite: bool = False) -> Path:
    """Copy the stored JPEGs of an ``.isxb`` into a video container, without re-encoding.

    Parameters
    ----------
    part
        The opened ``.isxb``.
    target
        Output path; its suffix picks the container (``.mkv``, ``.mov`` or ``.avi``).
    times
        Seconds of each stored frame (default: :func:`frame_times` of the file alone);
        ``.mkv`` (ms) and ``.mov`` (µs) keep them as packet times, ``.avi`` is
        constant-rate at the file's nominal period.
    overwrite
        Replace an existing ``target`` (otherwise FileExistsError).
    """
    av = require("av", "video", "writing nVision video containers")
    target = Path(target)
    container = target.suffix.lower()
    if container not in CONTAINERS:
        raise ValueError(f"{target}: unsupported video container {container!r}; "
                         f"use one of {sorted(CONTAINERS)}")
    if not overwrite and target.exists():
        raise FileExistsError(f"{target} already exists; pass overwrite_video=True to replace it")
    if not part.valid_mask.any():
        raise IsxFormatError(part.path, "the movie stores no frame: nothing to write")
    times = frame_times([part])[0] if times is None else np.asarray(times, np.float64)
    time_base, pts = _container_pts(times, container, part.timing.period.fraction, part.path)
    rows, cols = part.spacing.shape
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with av.open(str(tmp), "w", format=CONTAINERS[container]) as out:
            stream = out.add_stream("mjpeg")
            stream.width, stream.height, stream.time_base = cols, rows, time_base
            stream.pix_fmt = _pixel_format(av, part.jpeg(int(np.argmax(part.valid_mask))),
                                           part.path)
            out.start_encoding()
            for jpeg, t in zip(_read_jpegs(part), pts.tolist(), strict=True):
                packet = av.Packet(jpeg)
                packet.stream, packet.time_base = stream, time_base
                packet.pts = packet.dts = t
                packet.is_keyframe = True
                out.mux(packet)
        _publish(tmp, target, overwrite)
    finally:
        tmp.unlink(missing_ok=True)
    return target


# ============================================================== internal video
class IsxbFrameIterator(GenericDataChunkIterator):
    """The stored frames of ``.isxb`` parts, decoded on demand, one frame per chunk."""

    def __init__(self, parts: Sequence[IsxbFile], *, frames_per_buffer: int = 32,
                 **kwargs: Any) -> None:
        self._parts = list(parts)
        self._samples = [np.flatnonzero(p.valid_mask) for p in self._parts]
        self._bounds = np.cumsum([0] + [len(s) for s in self._samples])
        n, (rows, cols) = int(self._bounds[-1]), self._parts[0].spacing.shape
        kwargs.setdefault("chunk_shape", (1, rows, cols))
        kwargs.setdefault("buffer_shape", (max(1, min(frames_per_buffer, n)), rows, cols))
        super().__init__(**kwargs)

    def _frame(self, g: int) -> np.ndarray:
        k = int(np.searchsorted(self._bounds, g, side="right") - 1)
        return self._parts[k].frame(int(self._samples[k][g - self._bounds[k]]))

    def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
        rows = range(*selection[0].indices(int(self._bounds[-1])))
        frames = np.stack([self._frame(g) for g in rows])
        return frames[(slice(None), *selection[1:])]

    def _get_maxshape(self) -> tuple[int, int, int]:
        return (int(self._bounds[-1]), *self._parts[0].spacing.shape)

    def _get_dtype(self) -> np.dtype:
        return np.dtype(np.uint8)


# ============================================================== tracking
def _tracking_rows(parts: Sequence[IsxbFile]) -> tuple[Tracking, ...] | None:
    tracks = [p.tracking for p in parts]
    if not any((~np.isnan(t.box[:, 0])).any() or any(t.zone_events) for t in tracks):
        return None
    return tuple(tracks)


def _zone_runs(events: list[tuple], times: np.ndarray) -> list[tuple[float, float, int, str]]:
    """Runs of consecutive stored frames listing a zone: (start, stop, id, name).

    A run stops at the next stored frame's time (the last frame's own time at the end).
    """
    present: dict[tuple[int, str], np.ndarray] = {}
    for row, frame_events in enumerate(events):
        for e in frame_events:
            if e.zone_id == 0 and not e.event:
                continue  # isx skips these
            present.setdefault((e.zone_id, e.name), np.zeros(len(times), bool))[row] = True
    stops = np.append(times[1:], times[-1]) if len(times) else times
    runs = []
    for (zone_id, name), mask in present.items():
        edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            runs.append((float(times[a]), float(stops[b - 1]), zone_id, name))
    return sorted(runs)


def _zones_table(parts: Sequence[IsxbFile], name: str) -> DynamicTable | None:
    zones = parts[0].zones
    if not zones:
        return None
    table = DynamicTable(name=name, description="nVision tracking zones (pixel coordinates, "
                         "origin at the top-left corner of the frame) of the first part.")
    table.add_column("zone_name", "Zone name.")
    for column, doc in _ZONE_COLUMNS:
        table.add_column(column, doc)
    table.add_column("coordinates", "[x, y] vertices (pixels); an ellipse has its centre only.",
                     index=True)
    for z in zones:
        table.add_row(zone_name=z.name, zone_id=z.id, enabled=z.enabled,
                      zone_description=z.description, geometry=z.type, major_axis=z.major_axis,
                      minor_axis=z.minor_axis, angle=z.angle,
                      coordinates=z.coordinates.astype(np.float64).tolist())
    return table


def _occupancy_table(events: list[tuple], times: np.ndarray, name: str) -> TimeIntervals | None:
    runs = _zone_runs(events, times)
    if not runs:
        return None
    table = TimeIntervals(name=name, description="Intervals during which nVision tracking "
                          "placed the animal in a zone (consecutive stored frames listing it).")
    table.add_column("zone_id", "Zone id as stored per frame (real files: the low 32 bits "
                     "of the session's zone id).")
    table.add_column("zone_name", "Zone name.")
    for start, stop, zone_id, zone_name in runs:
        table.add_row(start_time=start, stop_time=stop, zone_id=zone_id, zone_name=zone_name)
    return table


def _container(module: Any, kind: type, name: str) -> Any:
    """The module's ``name`` container (created as ``kind`` if missing)."""
    if name not in module.data_interfaces:
        module.add(kind(name=name))
    return module.data_interfaces[name]


def _add_tracking(nwbfile: NWBFile, parts: Sequence[IsxbFile], timing: dict[str, Any],
                  times: np.ndarray, prefix: str) -> None:
    tracks = _tracking_rows(parts)
    if tracks is None:
        return
    valid = [p.valid_mask for p in parts]
    box = np.concatenate([t.box[v] for t, v in zip(tracks, valid, strict=True)]).astype(float)
    ok = np.concatenate([t.valid[v] for t, v in zip(tracks, valid, strict=True)])
    center = np.concatenate([t.center[v] for t, v in zip(tracks, valid, strict=True)])
    box[~ok] = np.nan
    center = center.astype(np.float64)
    center[~ok] = np.nan
    conf = np.concatenate([t.confidence[v] for t, v in zip(tracks, valid, strict=True)])
    module = get_module(nwbfile, "behavior", "processed behavioral data")
    position = _container(module, Position, "Position")
    position.add_spatial_series(SpatialSeries(
        name=f"{prefix}BoxCenter", data=center, unit="pixels", conversion=1.0,
        reference_frame="video frame pixels: origin at the top-left corner, x right, y down",
        description="Centre of the nVision tracking bounding box (NaN: no detection).",
        **timing))
    series = _container(module, BehavioralTimeSeries, "BehavioralTimeSeries")
    series.add_timeseries(TimeSeries(
        name=f"{prefix}BoundingBox", data=box, unit="pixels",
        description="nVision tracking bounding box [left, top, right, bottom] in video "
                    "pixels (NaN: no detection).", **timing))
    series.add_timeseries(TimeSeries(
        name=f"{prefix}Confidence", data=conf.astype(np.float64), unit="percent",
        description="nVision tracking confidence (NaN: not reported).", **timing))
    events = [t.zone_events[i] for t, v in zip(tracks, valid, strict=True)
              for i in np.flatnonzero(v).tolist()]
    for table in (_zones_table(parts, f"{prefix}Zones"),
                  _occupancy_table(events, times, f"{prefix}ZoneOccupancy")):
        if table is not None:
            module.add(table)


# ============================================================== metadata
def _info_text(info: dict[str, Any] | None, keys: Sequence[str]) -> str:
    info = info or {}
    return "; ".join(f"{k}: {info[k]}" for k in keys if k in info and info[k] != "")


def _camera(part: IsxbFile) -> tuple[str, dict[str, Any]]:
    name = part.session.get("cameraName")
    entry = (part.session.get("processingInterface") or {}).get(name)
    return (name if isinstance(name, str) else ""), (entry if isinstance(entry, dict) else {})


def _device_metadata(part: IsxbFile) -> dict[str, Any]:
    name, entry = _camera(part)
    alias = entry.get("cameraAlias") or name
    text = [f"Inscopix nVision behavior camera {name!r}" + (f" (alias {alias!r})"
                                                            if alias != name else ""),
            _info_text(part.acquisition_info, _DEVICE_INFO[1:])]
    if entry.get("cameraType"):
        text.append(f"camera type: {entry['cameraType']}")
    device = {"name": f"nVision camera {alias}".strip(),
              "description": ". ".join(t for t in text if t) + "."}
    if entry.get("cameraSerial"):
        device["serial_number"] = str(entry["cameraSerial"])
    return device


def _series_description(parts: Sequence[IsxbFile], mode: str) -> str:
    rows, cols = parts[0].spacing.shape
    drops = sum(int((~p.valid_mask).sum()) for p in parts)
    names = ", ".join(Path(p.path).name for p in parts)
    kind = ("MJPEG stream copied without re-encoding into the external file(s)"
            if mode == "external" else "JPEG luma plane decoded to uint8 grey levels")
    text = [f"nVision behavior video, {cols} x {rows} pixels, from {names}: {kind}",
            _info_text(parts[0].acquisition_info, _SERIES_INFO)]
    if drops:
        text.append(f"{drops} frame(s) dropped by the camera are not included (gaps in the "
                    "timestamps)")
    return ". ".join(t for t in text if t) + "."


# ============================================================== the interface
class InscopixBehaviorVideoInterface(InscopixTimedInterface):
    """An nVision ``.isxb`` behaviour movie (or the parts of one recording) to NWB.

    Parameters
    ----------
    file_path
        One ``.isxb`` file.
    file_paths
        The parts of one scheduled recording (any order: sorted by start time and checked
        to form a series).  Give ``file_path`` or ``file_paths``.
    mode : {'external', 'internal'}
        ``external``: copy the MJPEG stream into a video container beside the NWB file
        and link it; ``internal``: store the decoded frames in the NWB file.
    metadata_key
        Key of this video in ``metadata["Behavior"]["ExternalVideos"]`` (or
        ``["InternalVideos"]``) and, with ``_camera``, in ``metadata["Devices"]``.
    verbose
        neuroconv's verbosity flag.
    """

    display_name = "Inscopix nVision behavior video"
    keywords = ("behavior", "video", "Inscopix", "nVision", "tracking")
    associated_suffixes = (".isxb",)
    info = "Interface for Inscopix nVision behavior movies (.isxb) and their tracking data."

    def __init__(self, file_path: FilePath | str | None = None,
                 file_paths: list[FilePath | str] | None = None,
                 *, mode: Literal["external", "internal"] = "external",
                 metadata_key: str = "behavior_video", verbose: bool = False) -> None:
        if (file_path is None) == (file_paths is None):
            raise ValueError("give file_path (one .isxb) or file_paths (the parts of one "
                             "recording), not both")
        if mode not in _VIDEO_KEYS:
            raise ValueError(f"mode must be 'external' or 'internal', not {mode!r}")
        paths = [file_path] if file_path is not None else list(file_paths or [])
        if not paths:
            raise ValueError("file_paths is empty")
        self.mode, self.metadata_key = mode, metadata_key
        super().__init__(verbose=verbose, file_path=file_path, file_paths=file_paths,
                         mode=mode, metadata_key=metadata_key)
        self._paths = [os.fspath(p) for p in paths]
        #: the opened ``.isxb`` files in start-time order (checked to form a series)
        self.parts: list[IsxbFile] = MovieSeries([IsxbFile(p) for p in self._paths]).members

    def _start(self) -> Time:
        return self.parts[0].timing.start

    def get_original_timestamps(self) -> np.ndarray:
        """Seconds from the first part's start of every stored frame (all parts)."""
        return np.concatenate(frame_times(self.parts))

    @property
    def _device_key(self) -> str:
        return f"{self.metadata_key}_camera"

    def get_metadata_schema(self) -> dict:
        schema = super().get_metadata_schema()
        series = get_schema_from_hdmf_class(ImageSeries)
        for key in ("format", "conversion", "starting_time", "rate"):
            series["properties"].pop(key, None)
            if key in series.get("required", []):
                series["required"].remove(key)
        series["properties"]["device_metadata_key"] = {"type": "string"}
        videos = {"type": "object", "properties": {self.metadata_key: series},
                  "additionalProperties": True}
        schema["properties"]["Behavior"] = {
            "type": "object", "additionalProperties": True,
            "properties": {_VIDEO_KEYS[self.mode]: videos}}
        return schema

    def get_metadata(self) -> DeepDict:
        metadata = super().get_metadata()
        metadata["Devices"][self._device_key] = _device_metadata(self.parts[0])
        metadata["Behavior"][_VIDEO_KEYS[self.mode]][self.metadata_key] = {
            "name": "BehaviorVideo", "description": _series_description(self.parts, self.mode),
            "unit": "Frames", "device_metadata_key": self._device_key}
        return metadata

    def _series_kwargs(self, nwbfile: NWBFile, metadata: dict | None) -> dict[str, Any]:
        defaults = self.get_metadata()
        metadata = metadata if metadata is not None else defaults
        videos = metadata.get("Behavior", {}).get(_VIDEO_KEYS[self.mode], {})
        kwargs = dict(videos.get(self.metadata_key)
                      or defaults["Behavior"][_VIDEO_KEYS[self.mode]][self.metadata_key])
        key = kwargs.pop("device_metadata_key", None)
        if key is not None:
            devices = dict(defaults["Devices"])
            devices.update(metadata.get("Devices") or {})
            kwargs["device"] = _add_device_to_nwbfile(
                nwbfile, metadata={**metadata, "Devices": devices}, metadata_key=key)
        return kwargs

    def _timing(self, always_write_timestamps: bool) -> dict[str, Any]:
        times = self.get_timestamps()
        rate = None if always_write_timestamps else calculate_regular_series_rate(times)
        if rate is None:
            return {"timestamps": times}
        return {"starting_time": float(times[0]), "rate": float(rate)}

    def write_external_videos(self, folder: str | os.PathLike[str], *, container: str = ".mkv",
                              overwrite_video: bool = False) -> list[Path]:
        """Copy each part's MJPEG stream into ``folder/<part name><container>``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        times = frame_times(self.parts)
        return [mux_isxb(p, folder / f"{Path(p.path).stem}{container}", times=t,
                         overwrite=overwrite_video)
                for p, t in zip(self.parts, times, strict=True)]

    def _external_data(self, nwbfile_folder: str | os.PathLike[str] | None,
                       video_folder: str | os.PathLike[str] | None, container: str,
                       overwrite_video: bool) -> dict[str, Any]:
        if nwbfile_folder is None:
            raise ValueError(
                f"{self._paths[0]}: external mode writes the video beside the NWB file and "
                "links it by a path relative to it: pass nwbfile_folder, the folder the NWB "
                "file is written to (run_conversion does), or use mode='internal'")
        nwb_dir = Path(nwbfile_folder).resolve()
        folder = nwb_dir / (video_folder if video_folder is not None else "")
        written = self.write_external_videos(folder, container=container,
                                             overwrite_video=overwrite_video)
        counts = [int(p.valid_mask.sum()) for p in self.parts]
        return {"format": "external",
                "external_file": [Path(os.path.relpath(w.resolve(), nwb_dir)).as_posix()
                                  for w in written],
                "starting_frame": np.cumsum([0, *counts[:-1]]).tolist(),
                "num_samples": sum(counts)}

    def add_to_nwbfile(self, nwbfile: NWBFile, metadata: dict | None = None, *,
                       nwbfile_folder: str | None = None, video_folder: str | None = None,
                       container: Literal[".mkv", ".mov", ".avi"] = ".mkv",
                       overwrite_video: bool = False,
                       parent_container: Literal["acquisition", "processing/behavior"]
                       = "acquisition", always_write_timestamps: bool = False,
                       add_tracking: bool = True, frames_per_buffer: int = 32) -> None:
        """Add the video (and the tracking) to ``nwbfile``.

        Parameters
        ----------
        nwbfile
            The in-memory NWB file.
        metadata
            Its metadata (default: :meth:`get_metadata`).
        nwbfile_folder
            External mode: the folder the NWB file is written to (the video goes there
            and is linked by a path relative to it); :meth:`run_conversion` passes it.
        video_folder
            External mode: folder of the video files, absolute or relative to the NWB
            file's folder (default: that folder).  One file per part, named after it.
        container : {'.mkv', '.mov', '.avi'}
            External mode: the video container.  ``.mkv`` keeps frame times to the ms,
            ``.mov`` to the µs; ``.avi`` is constant-rate.  The NWB timestamps are exact
            in every case.
        overwrite_video
            Replace existing video files (default: refuse).
        parent_container
            Where the ``ImageSeries`` goes.
        always_write_timestamps
            Write timestamps even when they are regular (else rate + starting time).
        add_tracking
            Add nVision tracking to the ``behavior`` processing module.
        frames_per_buffer
            Internal mode: frames decoded at a time.
        """
        kwargs = self._series_kwargs(nwbfile, metadata)
        timing = self._timing(always_write_timestamps)
        if self.mode == "external":
            kwargs.update(self._external_data(nwbfile_folder, video_folder, container,
                                              overwrite_video))
            if "timestamps" in timing:
                kwargs.pop("num_samples")
        else:
            kwargs["data"] = IsxbFrameIterator(self.parts, frames_per_buffer=frames_per_buffer)
        image_series = ImageSeries(**kwargs, **timing)
        if parent_container == "acquisition":
            nwbfile.add_acquisition(image_series)
        else:
            get_module(nwbfile, "behavior", "processed behavioral data").add(image_series)
        if add_tracking:
            link = {"timestamps": image_series} if "timestamps" in timing else timing
            _add_tracking(nwbfile, self.parts, link, self.get_timestamps(), image_series.name)

    def run_conversion(self, nwbfile_path: FilePath, nwbfile: NWBFile | None = None,
                       metadata: dict | None = None, overwrite: bool = False,
                       **kwargs: Any) -> None:
        """neuroconv's ``run_conversion``; external mode gets the NWB file's folder."""
        if self.mode == "external":
            kwargs.setdefault("nwbfile_folder", os.fspath(Path(nwbfile_path).resolve().parent))
        super().run_conversion(nwbfile_path=nwbfile_path, nwbfile=nwbfile, metadata=metadata,
                               overwrite=overwrite, **kwargs)
