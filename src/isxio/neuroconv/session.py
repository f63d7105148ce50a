"""``InscopixSessionConverter``: every Inscopix file of one session into one NWB file.

Files are recognised by their content (the ``.isxd`` trailer's type, the readers of the
other kinds), not by their names.  All streams share one clock: the session starts at
the earliest start time of the files (timezone-aware), and every stream is shifted by
its own start.  What was found and used is listed (``data_interface_objects``); files
that cannot be used are listed with the reason (``unused_files``), never silently
skipped.

Grouping rules (each a documented choice):

* movies with the same frame shape, pixel type and period that follow each other in
  time are the parts of one recording (one series); other movies (e.g. a processed
  movie beside the raw one) get series of their own, named after their file;
* each cell set is a PlaneSegmentation linked to the imaging plane of a movie of the
  same frame shape (the plane with the same efocus for multiplane movies);
* each event set is an events table whose cells refer to the rows of the cell set with
  the same cell names;
* ``.isxb`` parts with the same frame size are one behaviour video;
* GPIO (``.gpio``, ``.raw``, GPIO ``.isxd``, nVista 2 ``.hdf5``) and IMU files each get
  their interface.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuroconv import ConverterPipe
from neuroconv.basedatainterface import BaseDataInterface
from neuroconv.utils import DeepDict

from ..api import open as open_file
from ..errors import IsxError
from ..formats.cellset import CellSetFile
from ..formats.events import EventsFile
from ..formats.gpio import GpioFile
from ..formats.imu import ImuFile
from ..formats.isxb import IsxbFile
from ..formats.movie import MovieFile
from ._metadata import missing_dandi_fields

__all__ = ["INSCOPIX_SUFFIXES", "InscopixSessionConverter"]

#: suffixes looked at in a session folder (kinds are then told apart by content)
INSCOPIX_SUFFIXES = (".isxd", ".isxb", ".gpio", ".raw", ".imu", ".hdf5")

_DANDI_WARNING = "DANDI requires metadata"


@dataclass
class _Found:
    """Files of one session sorted by kind (readers opened lazily: trailers only)."""

    movies: list[MovieFile] = field(default_factory=list)
    cell_sets: list[CellSetFile] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    gpio: list[str] = field(default_factory=list)
    imu: list[str] = field(default_factory=list)
    videos: list[IsxbFile] = field(default_factory=list)
    unused: dict[str, str] = field(default_factory=dict)


#: EventsFile.kind -> the list of _Found it goes to
_EVENT_KINDS = {"events": "events", "gpio": "gpio", "imu": "imu"}


def _classify(path: str, found: _Found) -> None:
    """Open ``path`` (trailer / header only) and file it under its kind, or say why not."""
    try:
        reader = open_file(path)
    except (IsxError, OSError, ValueError, ImportError) as exc:
        found.unused[path] = f"not readable as Inscopix data: {exc}"
        return
    if isinstance(reader, MovieFile):
        if reader.num_frames < 2:
            found.unused[path] = "an image (one frame): no NWB interface converts images yet"
        else:
            found.movies.append(reader)
    elif isinstance(reader, CellSetFile):
        found.cell_sets.append(reader)
    elif isinstance(reader, EventsFile):
        getattr(found, _EVENT_KINDS[reader.kind]).append(path)
    elif isinstance(reader, IsxbFile):
        found.videos.append(reader)
    elif isinstance(reader, GpioFile):
        found.gpio.append(path)
    elif isinstance(reader, ImuFile):
        found.imu.append(path)
    else:
        found.unused[path] = (f"a {type(reader).__name__}: no NWB interface converts this "
                              "kind yet")


def _files(folder_path: str | os.PathLike[str] | None,
           file_paths: Sequence[str | os.PathLike[str]] | None) -> tuple[list[str], dict]:
    """The candidate files and the files of the folder that are not Inscopix files."""
    if (folder_path is None) == (file_paths is None):
        raise ValueError("give either folder_path or file_paths")
    if file_paths is not None:
        paths = [os.fspath(p) for p in file_paths]
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(f"files do not exist: {missing}")
        return sorted(paths), {}
    folder = Path(folder_path)  # type: ignore[arg-type]
    if not folder.is_dir():
        raise NotADirectoryError(f"session folder does not exist: {folder}")
    everything = sorted(p for p in folder.rglob("*") if p.is_file())
    paths = [str(p) for p in everything if p.suffix.lower() in INSCOPIX_SUFFIXES]
    others = {str(p): "not an Inscopix file (by its suffix)" for p in everything
              if p.suffix.lower() not in INSCOPIX_SUFFIXES}
    return paths, others


def _recordings(movies: list[MovieFile]) -> list[list[MovieFile]]:
    """Movies grouped into recordings: same layout, one after the other in time."""
    groups: list[list[MovieFile]] = []
    for movie in sorted(movies, key=lambda m: m.timing.start.secs_since_epoch.fraction):
        key = (movie.shape[1:], movie.dtype, movie.timing.period, movie.extra_properties
               is not None)
        for group in groups:
            last = group[-1]
            end = last.timing.start.secs_since_epoch.fraction + last.timing.duration
            same = (last.shape[1:], last.dtype, last.timing.period,
                    last.extra_properties is not None) == key
            if same and movie.timing.start.secs_since_epoch.fraction >= end:
                group.append(movie)
                break
        else:
            groups.append([movie])
    return groups


def _stem(path: str) -> str:
    """A file name as a name part of NWB objects (letters, digits and underscores)."""
    return re.sub(r"\W+", "_", Path(path).stem).strip("_")


class InscopixSessionConverter(ConverterPipe):
    """Every Inscopix file of one session -> one NWB file, on one clock.

    Parameters
    ----------
    folder_path
        A session folder: every file below it is looked at.
    file_paths
        Or the files themselves.
    video_mode
        ``"external"`` (default): behaviour videos are copied, without re-encoding,
        beside the NWB file; ``"internal"``: stored inside it.
    verbose
        Print progress.

    Attributes
    ----------
    data_interface_objects
        The interfaces built, by name (``"Imaging"``, ``"Segmentation"``, ...).
    unused_files
        Files that were not converted, with the reason.
    """

    display_name = "Inscopix session"

    def __init__(self, folder_path: str | os.PathLike[str] | None = None, *,
                 file_paths: Sequence[str | os.PathLike[str]] | None = None,
                 video_mode: str = "external", verbose: bool = False) -> None:
        paths, others = _files(folder_path, file_paths)
        found = _Found(unused=dict(others))
        for path in paths:
            _classify(path, found)
        self.unused_files: dict[str, str] = found.unused
        self._links: dict[str, Any] = {}
        interfaces = self._interfaces(found, video_mode, verbose)
        if not interfaces:
            raise ValueError(f"no Inscopix data to convert in {folder_path or paths}; "
                             f"not used: {self.unused_files}")
        super().__init__(data_interfaces=interfaces, verbose=verbose)
        self._align()

    # ------------------------------------------------------------------ building
    def _interfaces(self, found: _Found, video_mode: str, verbose: bool
                    ) -> dict[str, BaseDataInterface]:
        from .gpio import InscopixGpioInterface
        from .imaging import InscopixImagingInterface
        from .imu import InscopixImuInterface
        from .segmentation import InscopixSegmentationInterface

        out: dict[str, BaseDataInterface] = {}
        self._imaging_names: dict[str, str] = {}
        for k, group in enumerate(_recordings(found.movies)):
            name = "Imaging" if k == 0 else f"Imaging_{_stem(group[0].path)}"
            paths = [m.path for m in group]
            out[name] = InscopixImagingInterface(paths if len(paths) > 1 else paths[0],
                                                 verbose=verbose,
                                                 metadata_key=f"inscopix_{name.lower()}")
        for k, cells in enumerate(found.cell_sets):
            name = "Segmentation" if k == 0 else f"Segmentation_{_stem(cells.path)}"
            out[name] = InscopixSegmentationInterface(cells.path, verbose=verbose,
                                                      metadata_key=f"inscopix_{name.lower()}")
        self._add_events(out, found.events, verbose)
        for kind, cls, paths in (("Gpio", InscopixGpioInterface, found.gpio),
                                 ("Imu", InscopixImuInterface, found.imu)):
            for k, path in enumerate(paths):
                out[kind if k == 0 else f"{kind}_{_stem(path)}"] = cls(path, verbose=verbose)
        self._add_videos(out, found.videos, video_mode, verbose)
        return out

    def _add_events(self, out: dict, paths: list[str], verbose: bool) -> None:
        if not paths:
            return
        from .events import InscopixEventsInterface

        for k, path in enumerate(paths):
            name = "Events" if k == 0 else f"Events_{_stem(path)}"
            out[name] = InscopixEventsInterface(path, verbose=verbose,
                                                metadata_key=f"Inscopix{name}")

    def _add_videos(self, out: dict, videos: list[IsxbFile], mode: str, verbose: bool) -> None:
        from .video import InscopixBehaviorVideoInterface

        by_size: dict[tuple, list[str]] = {}
        for video in videos:
            by_size.setdefault(tuple(video.shape[1:]), []).append(video.path)
        for k, paths in enumerate(by_size.values()):
            name = "BehaviorVideo" if k == 0 else f"BehaviorVideo_{_stem(paths[0])}"
            out[name] = InscopixBehaviorVideoInterface(file_paths=paths, mode=mode,
                                                       verbose=verbose,
                                                       metadata_key=f"inscopix_{name.lower()}")

    # ------------------------------------------------------------------ one clock
    def start_times(self) -> dict[str, Any]:
        """Each interface's own start time (timezone-aware), by interface name."""
        return {name: _start_of(i) for name, i in self.data_interface_objects.items()}

    def _align(self) -> None:
        starts = self.start_times()
        self.session_start_time = min(starts.values())
        for name, interface in self.data_interface_objects.items():
            offset = (starts[name] - self.session_start_time).total_seconds()
            if offset:
                interface.set_aligned_starting_time(offset)

    # ------------------------------------------------------------------ metadata
    def get_metadata(self, *, use_new_metadata_format: bool = True) -> DeepDict:
        """Every interface's metadata merged; the session starts at the earliest file."""
        metadata = super().get_metadata(use_new_metadata_format=True)
        metadata["NWBFile"]["session_start_time"] = self.session_start_time
        names = list(self.data_interface_objects)
        metadata["NWBFile"]["session_description"] = (
            "Inscopix session converted by isxio: " + ", ".join(names))
        self._name_series(metadata)
        self._link_segmentations(metadata)
        return metadata

    def _name_series(self, metadata: DeepDict) -> None:
        """Distinct NWB names for the series of a second movie or cell set."""
        ophys = metadata.get("Ophys", {})
        for name, interface in self.data_interface_objects.items():
            suffix = name.partition("_")[2]
            if not suffix:
                continue
            for table in metadata.get(getattr(interface, "metadata_key", ""), {}).values():
                if isinstance(table, dict) and "name" in table:  # the events' tables
                    table["name"] = f"{table['name']}_{suffix}"
            keys = set(_plane_keys(interface))
            for registry in ("MicroscopySeries", "ImagingPlanes", "PlaneSegmentations"):
                for entry_key, entry in ophys.get(registry, {}).items():
                    if entry_key in keys and "name" in entry:
                        entry["name"] = f"{entry['name']}_{suffix}"

    def _link_segmentations(self, metadata: DeepDict) -> None:
        """Point each PlaneSegmentation at the imaging plane of a movie of its shape."""
        ophys = metadata.get("Ophys", {})
        planes = ophys.get("ImagingPlanes", {})
        for interface in self.data_interface_objects.values():
            cells = getattr(interface, "segmentation_extractor", None)
            if cells is None:
                continue
            target = self._plane_for(cells, planes)
            if target is not None:
                entry = ophys["PlaneSegmentations"][interface.metadata_key]
                entry["imaging_plane_metadata_key"] = target
            elif interface.metadata_key in planes:  # its own plane: a name of its own
                own = planes[interface.metadata_key]
                own["name"] = f"{own['name']}_{_stem(cells.file_path)}"

    def _plane_for(self, cells: Any, planes: dict[str, Any]) -> str | None:
        focus = cells._get_device_info().get("efocus")
        for interface in self.data_interface_objects.values():
            movie = getattr(interface, "imaging_extractor", None)
            if movie is None or movie.get_image_shape() != cells.get_frame_shape():
                continue
            keys = [k for k in _plane_keys(interface) if k in planes]
            for key in keys:
                origin = planes[key].get("origin_coords", [])
                if len(keys) == 1 or (focus is not None and len(origin) == 3
                                      and origin[2] == focus):
                    return key
        return None

    # ------------------------------------------------------------------ writing
    def add_to_nwbfile(self, nwbfile: Any, metadata: dict | None = None,
                       conversion_options: dict | None = None) -> None:
        """Add every stream; DANDI's missing fields are reported once for the session."""
        metadata = metadata or self.get_metadata()
        missing = missing_dandi_fields(metadata)
        if missing:
            warnings.warn(f"{type(self).__name__}: DANDI requires metadata the Inscopix files "
                          f"do not hold; add to the metadata: {', '.join(missing)}",
                          UserWarning, stacklevel=2)
        options = self._default_options(metadata, conversion_options or {})
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=f".*{_DANDI_WARNING}")
            super().add_to_nwbfile(nwbfile=nwbfile, metadata=metadata,
                                   conversion_options=options)

    def _default_options(self, metadata: dict, options: dict) -> dict:
        options = {name: dict(value) for name, value in options.items()}
        tables = {name: i for name, i in self.data_interface_objects.items()
                  if hasattr(i, "segmentation_extractor")}
        for name, interface in self.data_interface_objects.items():
            if type(interface).__name__ == "InscopixEventsInterface" and tables:
                cells = _matching_cells(interface, tables, metadata)
                if cells is not None:
                    options.setdefault(name, {}).setdefault("plane_segmentation_name", cells)
            if type(interface).__name__ == "InscopixBehaviorVideoInterface" \
                    and self._output_folder is not None:
                video = options.setdefault(name, {})
                video.setdefault("nwbfile_folder", self._output_folder)
                video.setdefault("overwrite_video", self._overwrite)
        return options

    _output_folder: str | None = None
    _overwrite = False

    def run_conversion(self, nwbfile_path: str | os.PathLike[str] | None = None,
                       nwbfile: Any = None, metadata: dict | None = None,
                       overwrite: bool = False, **kwargs: Any) -> None:
        """Write the session (external behaviour videos go beside ``nwbfile_path``)."""
        self._output_folder = (str(Path(nwbfile_path).absolute().parent)
                               if nwbfile_path is not None else None)
        self._overwrite = overwrite
        super().run_conversion(nwbfile_path=nwbfile_path, nwbfile=nwbfile, metadata=metadata,
                               overwrite=overwrite, **kwargs)

    def summary(self) -> str:
        """What was found and used, and what was not (one line per file)."""
        lines = [f"session start: {self.session_start_time.isoformat()}"]
        for name, interface in self.data_interface_objects.items():
            source = interface.source_data
            paths = source.get("file_paths") or source.get("file_path")
            lines.append(f"  {name}: {type(interface).__name__} <- {paths}")
        for path, reason in self.unused_files.items():
            lines.append(f"  not used: {path}: {reason}")
        return "\n".join(lines)


def _matching_cells(events: Any, tables: dict[str, Any], metadata: dict) -> str | None:
    """The PlaneSegmentation name of the cell set whose cell names the events use."""
    channels = set(events.get_channel_names())
    for interface in tables.values():
        cells = interface.segmentation_extractor
        if channels and cells.get_num_rois() and channels <= set(cells.get_roi_ids()):
            return metadata["Ophys"]["PlaneSegmentations"][interface.metadata_key]["name"]
    return None


def _plane_keys(interface: Any) -> list[str]:
    """The Ophys metadata keys an interface writes under (one per plane / colour)."""
    key = getattr(interface, "metadata_key", None)
    if key is None:
        return []
    return [key + stream.suffix for stream in getattr(interface, "_streams", ())] or [key]


def _start_of(interface: Any) -> Any:
    """An interface's own start time (timezone-aware)."""
    if hasattr(interface, "get_start_time"):
        return interface.get_start_time()
    extractor = getattr(interface, "imaging_extractor", None) or \
        interface.segmentation_extractor
    return extractor._get_session_start_time()
