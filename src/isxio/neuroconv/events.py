"""``InscopixEventsInterface``: an Inscopix event set (detected cell events) -> NWB.

Where everything goes, and why
------------------------------
* **Events**: one :class:`pynwb.event.EventsTable` (default name ``"CellEvents"``) in
  ``nwbfile.events``, one row per event, sorted by time (ties by channel).  The NWB
  schema of pynwb 4 names ``events`` "the recommended location for all event tables in
  the file", whether emitted by the acquisition system or *derived by detection
  algorithms*, and neuroconv 0.10's ``BaseEventsInterface`` writes there too.  Columns:

  - ``timestamp``: the event time in seconds from the session start: the offset stored
    in the file (whole µs since the event set's start) / 1e6, plus any aligned starting
    time (``resolution`` 1 µs).  isx's 1 µs truncation is not reproduced;
  - ``amplitude``: the amplitude as stored (float32);
  - ``cell_name``: the event set's channel (cell) name;
  - ``cell``: only when linked (below), a ``DynamicTableRegion`` to the row of the
    ``PlaneSegmentation`` whose ``roi_name`` is the cell's name.

* **Event metrics** (snr, mad, eventRate, ..., when the file has them): a per-cell
  ``DynamicTable`` (default ``"CellEventMetrics"``) in ``processing["ophys"]``, one row
  per channel: ``cell_name``, ``cell`` (when linked) and one float column per metric
  (NaN where the file has none).  Not extra ``PlaneSegmentation`` columns, because that
  table belongs to the segmentation interface: it may not be converted at all, may
  already be written, holds cells the event set may lack (they would need fill values)
  and a second event set of the same cells (other detection settings) would collide
  with the first's columns.  A table of its own is in the same place whether or not the
  cell set is converted, and links to the ROIs the same way as the events do.

* **Linking** the cells to a ``PlaneSegmentation``: pass
  ``plane_segmentation_name`` to :meth:`~InscopixEventsInterface.add_to_nwbfile` (in a
  converter: ``conversion_options={"events": {"plane_segmentation_name":
  "PlaneSegmentation"}}``, with the segmentation interface *before* this one).  The
  table is looked up in ``processing["ophys"]["ImageSegmentation"]``; each channel
  must match exactly one ``roi_name`` (else ``ValueError``).  When no table of that
  name exists, a warning says so and the cells are written by name only.

* **Nothing to write**: an event set without channels writes nothing; one without
  events writes no ``EventsTable`` (the NWB Inspector rejects empty tables,
  ``check_empty_table``) but still its metrics; each case warns.

Metadata (``NWBFile`` session start time with the file's UTC offset, session id,
experimenter, ``Subject``) comes from the event set's ``extraProperties`` the way the
other interfaces take it from theirs; the table names and descriptions are under
``metadata[metadata_key]`` (default ``"InscopixEvents"``: tables ``"CellEvents"`` and
``"CellEventMetrics"``).  Several event sets in one file need their own ``metadata_key``
and table names; a name already taken raises ``ValueError`` before anything is written.
"""

from __future__ import annotations

import os
import warnings
from functools import cached_property
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
from neuroconv.tools.nwb_helpers import get_module
from neuroconv.utils import DeepDict, dict_deep_update
from pynwb import NWBFile
from pynwb.event import EventsTable, TimestampVectorData

from ..acquisition import acquisition_info
from ..formats.common import Time
from ..roiextractors._metadata import ACQUISITION_TABLES, pick
from ..roiextractors.events import InscopixEventsExtractor
from ._base import InscopixTimedInterface
from ._metadata import nwbfile_entries, subject_entries, warn_missing_dandi_fields

__all__ = ["METRIC_COLUMNS", "InscopixEventsInterface"]

US = 1e-6

#: (metric name in the file, column name, description)
METRIC_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("snr", "snr", "Signal-to-noise ratio of the cell's trace (Inscopix 'snr')."),
    ("mad", "mad", "Median absolute deviation of the cell's trace, its noise level "
                   "(Inscopix 'mad'; in the trace's units)."),
    ("eventRate", "event_rate", "Events per second, Hz (Inscopix 'eventRate')."),
    ("eventAmpMedian", "event_amplitude_median",
     "Median event amplitude (Inscopix 'eventAmpMedian'; in the trace's units)."),
    ("eventAmpSD", "event_amplitude_sd",
     "Standard deviation of the event amplitudes (Inscopix 'eventAmpSD')."),
    ("riseMedian", "rise_median", "Median event rise time (Inscopix 'riseMedian'; the "
                                  "unit is not stored in the file)."),
    ("riseSD", "rise_sd", "Standard deviation of the event rise times (Inscopix 'riseSD')."),
    ("decayMedian", "decay_median", "Median event decay time (Inscopix 'decayMedian'; the "
                                    "unit is not stored in the file)."),
    ("decaySD", "decay_sd", "Standard deviation of the event decay times "
                            "(Inscopix 'decaySD')."),
)

#: the metadata sections read from the file (as the extractors' ``_get_metadata()``)
_SECTIONS = ("device", "subject", "session", "analysis")


def acquisition_metadata(extractor: Any) -> dict[str, Any]:
    """``_get_metadata()`` of the extractor, or the same sections from ``extraProperties``."""
    getter = getattr(extractor, "_get_metadata", None)
    if callable(getter):
        return getter()
    summary = acquisition_info(extractor.extra_properties)
    meta: dict[str, Any] = {s: pick(summary, ACQUISITION_TABLES[s]) for s in _SECTIONS}
    meta["session_start_time"] = extractor.get_start_time()
    return meta


def find_plane_segmentation(nwbfile: NWBFile, name: str) -> Any | None:
    """The ``PlaneSegmentation`` ``name`` of ``processing["ophys"]["ImageSegmentation"]``."""
    ophys = nwbfile.processing.get("ophys")
    if ophys is None or "ImageSegmentation" not in ophys.data_interfaces:
        return None
    return ophys["ImageSegmentation"].plane_segmentations.get(name)


def cell_rows(table: Any, names: list[str], path: str) -> np.ndarray:
    """Row of ``table`` whose ``roi_name`` is each of ``names`` (exactly one each)."""
    if "roi_name" not in table.colnames:
        raise ValueError(f"{path}: PlaneSegmentation {table.name!r} has no 'roi_name' column "
                         "to match the event set's cell names against")
    rows: dict[str, list[int]] = {}
    for i, roi in enumerate(table["roi_name"][:]):
        rows.setdefault(roi.decode() if isinstance(roi, bytes) else str(roi), []).append(i)
    missing = sorted({n for n in names if n not in rows})
    repeated = sorted({n for n in names if len(rows.get(n, ())) > 1})
    twice = sorted({n for n in names if names.count(n) > 1})
    problems = [text for found, text in (
        (missing, f"cells {missing} are not among its roi_name values"),
        (repeated, f"roi_name values {repeated} repeat"),
        (twice, f"the event set repeats the cell names {twice}")) if found]
    if problems:
        raise ValueError(f"{path}: cannot link the event set's cells to PlaneSegmentation "
                         f"{table.name!r}: {'; '.join(problems)}")
    return np.array([rows[n][0] for n in names], dtype=np.int64)


class InscopixEventsInterface(InscopixTimedInterface):
    """Detected cell events of an Inscopix event set (``.isxd``) as NWB.

    See the module docstring for where each part goes.

    Parameters
    ----------
    file_path
        The event set (V1 or V2 layout).  GPIO / IMU ``.isxd`` files are refused.
    metadata_key
        Key of this interface's table names / descriptions in the metadata (default
        ``"InscopixEvents"``); give each event set of one converter its own key and
        its own table names.
    verbose
        Unused; kept for neuroconv's interface signature.
    """

    display_name = "Inscopix Events"
    keywords = ("Inscopix", "calcium imaging", "events", "event detection")
    associated_suffixes = (".isxd",)
    info = "Interface for Inscopix event sets (detected cell events), read by isxio."

    def __init__(self, file_path: str | os.PathLike[str], *, metadata_key: str | None = None,
                 verbose: bool = False) -> None:
        super().__init__(verbose=verbose, file_path=file_path, metadata_key=metadata_key)
        self.metadata_key = metadata_key or "InscopixEvents"
        self.extractor = InscopixEventsExtractor(file_path)

    # -------------------------------------------------------------- events and timing
    @cached_property
    def _events(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.extractor.get_events()

    def _start(self) -> Time:
        return self.extractor._file.global_start

    def get_channel_names(self) -> list[str]:
        """The event set's cell names, in file order."""
        return self.extractor.get_channel_names()

    def get_original_timestamps(self) -> np.ndarray:
        """Every event's time (s from the file's start, stored µs / 1e6), sorted by time."""
        return self._events[0].copy()

    def get_events(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Every event as written: (aligned) times, amplitudes and cell names."""
        _, amplitudes, channels = self._events
        names = np.array(self.get_channel_names(), dtype=object)
        return self.get_timestamps(), amplitudes, names[channels].tolist()

    def _period_words(self) -> str:
        rate = self.extractor.get_sampling_frequency()
        return f"{1000.0 / rate:.6g} ms ({rate:.6g} Hz)"

    # -------------------------------------------------------------- metadata
    def _default_entries(self) -> dict[str, dict[str, str]]:
        source = os.path.basename(self.extractor.file_path)
        return {
            "EventsTable": {
                "name": "CellEvents",
                "description": f"Calcium events detected by Inscopix software, from the event "
                               f"set {source}: one row per event with its time, amplitude and "
                               f"cell. Sampling period of the event set: "
                               f"{self._period_words()}.",
            },
            "MetricsTable": {
                "name": "CellEventMetrics",
                "description": f"Per-cell event metrics stored in the event set {source}, as "
                               "computed by Inscopix software: one row per cell, NaN where "
                               "the file has no value.",
            },
        }

    def get_metadata(self) -> DeepDict:
        """NWBFile (aware start, session id, ...), Subject and this interface's table names."""
        metadata = super().get_metadata()
        meta = acquisition_metadata(self.extractor)
        metadata["NWBFile"].update(nwbfile_entries(meta, "cell events"))
        subject = subject_entries(meta)
        if subject:
            metadata["Subject"] = dict_deep_update(metadata.get("Subject", {}), subject)
        metadata[self.metadata_key] = self._default_entries()
        return metadata

    def get_metadata_schema(self) -> dict[str, Any]:
        schema = super().get_metadata_schema()
        table = {"type": "object", "properties": {"name": {"type": "string"},
                                                  "description": {"type": "string"}}}
        schema["properties"][self.metadata_key] = {
            "type": "object", "properties": {"EventsTable": table, "MetricsTable": table}}
        return schema

    # -------------------------------------------------------------- writing
    def add_to_nwbfile(self, nwbfile: NWBFile, metadata: dict | None = None, *,
                       plane_segmentation_name: str | None = None) -> None:
        """Add the events table (and the metrics table) to ``nwbfile``.

        Parameters
        ----------
        nwbfile
            The NWB file to add to.
        metadata
            Metadata; this interface's defaults fill what it does not give.
        plane_segmentation_name
            Name of a ``PlaneSegmentation`` (in ``processing["ophys"]["ImageSegmentation"]``)
            holding the event set's cells by ``roi_name``: when it exists, the ``cell``
            columns refer to its rows.  None: cells are written by name only.
        """
        metadata = dict_deep_update(self.get_metadata(), metadata or {})
        warn_missing_dandi_fields(metadata, type(self).__name__)
        entries = metadata[self.metadata_key]
        names = self.get_channel_names()
        if not names:
            self._warn("the event set has no cells; nothing is written for it")
            return
        metrics = self.extractor.get_metrics()
        self._check_free_names(nwbfile, entries, metrics is not None)
        plane = self._plane(nwbfile, plane_segmentation_name)
        rows = cell_rows(plane, names, self.extractor.file_path) if plane is not None else None
        if len(self._events[0]):
            nwbfile.add_events_table(self._events_table(entries["EventsTable"], plane, rows))
        else:
            self._warn("the event set has no events; no EventsTable is written for it "
                       "(the NWB Inspector rejects empty tables)")
        if metrics is not None:
            ophys = get_module(nwbfile, "ophys",
                               description="contains optical physiology processed data")
            ophys.add(self._metrics_table(entries["MetricsTable"], metrics, plane, rows))

    def _check_free_names(self, nwbfile: NWBFile, entries: dict[str, Any],
                          with_metrics: bool) -> None:
        """A clear error, before writing anything, when a table name is already taken."""
        ophys = nwbfile.processing.get("ophys")
        taken = {"EventsTable": set(nwbfile.events or {}) if len(self._events[0]) else set(),
                 "MetricsTable": set(ophys.data_interfaces) if ophys and with_metrics
                 else set()}
        for key, names in taken.items():
            if entries[key]["name"] in names:
                raise ValueError(
                    f"{self.extractor.file_path}: the NWB file already has a table named "
                    f"{entries[key]['name']!r}; give each event set its own names (metadata"
                    f"[{self.metadata_key!r}][{key!r}]['name'], with its own metadata_key)")

    def _plane(self, nwbfile: NWBFile, name: str | None) -> Any | None:
        if name is None:
            return None
        plane = find_plane_segmentation(nwbfile, name)
        if plane is None:
            self._warn(f"no PlaneSegmentation named {name!r} in processing['ophys']"
                       "['ImageSegmentation']; the cells are written by name only")
        return plane

    def _cell_columns(self, names: list[str], index: np.ndarray, plane: Any | None,
                      rows: np.ndarray | None) -> list[Any]:
        """``cell_name`` (and ``cell`` when linked) for channel indices ``index``."""
        columns: list[Any] = [VectorData(
            name="cell_name", data=np.array(names, dtype=object)[index].tolist(),
            description="Name of the cell (channel of the Inscopix event set).")]
        if plane is not None and rows is not None:
            columns.append(DynamicTableRegion(
                name="cell", data=rows[index], table=plane,
                description=f"The cell's row in PlaneSegmentation {plane.name!r} (matched by "
                            "roi_name)."))
        return columns

    def _events_table(self, entry: dict[str, str], plane: Any | None,
                      rows: np.ndarray | None) -> EventsTable:
        _, amplitudes, channels = self._events
        columns = [
            TimestampVectorData(
                name="timestamp", data=self.get_timestamps(), resolution=US,
                description="Event time in seconds from the session start (stored in the "
                            "file as whole µs since the event set's start)."),
            VectorData(name="amplitude", data=amplitudes,
                       description="Event amplitude as stored in the event set, in the units "
                                   "of the trace the events were detected on (not recorded "
                                   "in the event set)."),
            *self._cell_columns(self.get_channel_names(), channels, plane, rows),
        ]
        return EventsTable(name=entry["name"], description=entry["description"],
                           source_description="Event detection by Inscopix software "
                                              "(Inscopix event set .isxd)",
                           columns=columns)

    def _metrics_table(self, entry: dict[str, str], metrics: dict[str, np.ndarray],
                       plane: Any | None, rows: np.ndarray | None) -> DynamicTable:
        names = self.get_channel_names()
        columns = self._cell_columns(names, np.arange(len(names)), plane, rows)
        columns += [VectorData(name=column, data=np.asarray(metrics[key], np.float64),
                               description=words)
                    for key, column, words in METRIC_COLUMNS if key in metrics]
        return DynamicTable(name=entry["name"], description=entry["description"],
                            columns=columns)

    def _warn(self, message: str) -> None:
        warnings.warn(f"{self.extractor.file_path}: {message}", UserWarning, stacklevel=3)
