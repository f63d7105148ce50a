"""Typed metadata: statuses, colours, metrics, channels, acquisition, the reader protocol.

The readers keep every vendor value verbatim (``extra_properties``, ``cell_metrics``,
``metrics``, packed ARGB ``colors``, int ``statuses``).  This module translates them
once into typed values, the way nd2's ``structures.py`` does: an :class:`~enum.IntEnum`
for statuses (equal to the stored ints), named tuples for colours and metrics (NaN for
missing values, never a sentinel), dataclasses for channels and the acquisition summary
(each keeping the verbatim source), and :class:`Reader`, the protocol every reader
returned by :func:`isxio.open` follows.

A leaf module: it imports the standard library and numpy only, so any layer may use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:  # the readers import this module; a type alias only for checkers
    from typing import TypeAlias

    from .formats.cellset import CellSetFile
    from .formats.events import EventsFile
    from .formats.gpio import GpioFile
    from .formats.imu import ImuFile
    from .formats.isxb import IsxbFile
    from .formats.movie import MovieFile
    from .formats.vesselset import VesselSetFile

    #: What :func:`isxio.open` returns (annotate with it under ``TYPE_CHECKING``).
    AnyReader: TypeAlias = (MovieFile | CellSetFile | EventsFile | VesselSetFile | IsxbFile
                            | GpioFile | ImuFile)

__all__ = [
    "ACQUISITION_FIELDS",
    "CELL_METRIC_LABELS",
    "EVENT_METRIC_LABELS",
    "Acquisition",
    "CellMetrics",
    "CellStatus",
    "ChannelInfo",
    "EventMetrics",
    "Reader",
    "Rgba",
    "acquisition",
    "cell_metrics_table",
    "channel_infos",
    "event_metrics_table",
    "rgba",
]

INT64_MIN = -(2**63)  #: isxcore's "no value" for integer metrics (a centre of no pixel)


class CellStatus(IntEnum):
    """Status of a cell or vessel, as stored: 0 accepted, 1 undecided, 2 rejected.

    Compares equal to the stored int (``CellStatus.REJECTED == 2``); ``str()`` gives
    the name isx uses (``"rejected"``).
    """

    ACCEPTED = 0
    UNDECIDED = 1
    REJECTED = 2

    def __str__(self) -> str:
        return self.name.lower()


class Rgba(NamedTuple):
    """A colour as 0..255 bytes (the ``CellColors`` / ``VesselColors`` values are ARGB)."""

    red: int
    green: int
    blue: int
    alpha: int


def rgba(packed: int) -> Rgba:
    """A packed ARGB uint32 (as stored) as :class:`Rgba`."""
    packed = int(packed)
    return Rgba((packed >> 16) & 0xFF, (packed >> 8) & 0xFF, packed & 0xFF, (packed >> 24) & 0xFF)


# ---------------------------------------------------------------------- cell metrics
class CellMetrics(NamedTuple):
    """One ``cellMetrics`` entry (spec ``isxd.md`` §6.2); NaN where nothing is stored.

    Centres are in pixels; a centre isxcore could not compute (stored as the int64
    minimum) and every value of an empty entry (``{}``) read as NaN.
    """

    num_components: float
    overall_center_x: float
    overall_center_y: float
    largest_center_x: float
    largest_center_y: float
    overall_area: float
    largest_area: float
    overall_max_contour_width: float
    largest_max_contour_width: float


#: (field, label in the format notes) of :class:`CellMetrics`.
CELL_METRIC_LABELS: tuple[tuple[str, str], ...] = (
    ("num_components", "numComponents"),
    ("overall_center_x", "overall centre x (px)"),
    ("overall_center_y", "overall centre y (px)"),
    ("largest_center_x", "largest-component centre x (px)"),
    ("largest_center_y", "largest-component centre y (px)"),
    ("overall_area", "overallArea"),
    ("largest_area", "largestArea"),
    ("overall_max_contour_width", "overallMaxContourWidth"),
    ("largest_max_contour_width", "largestMaxContourWidth"),
)
_NAN_CELL = CellMetrics(*([math.nan] * len(CellMetrics._fields)))


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return math.nan if value == INT64_MIN else float(value)


def _centre(value: Any) -> tuple[float, float]:
    if not isinstance(value, dict):
        return math.nan, math.nan
    return _number(value.get("x")), _number(value.get("y"))


def _cell_entry(entry: Any) -> CellMetrics:
    if not isinstance(entry, list) or len(entry) < 7:
        return _NAN_CELL
    return CellMetrics(_number(entry[0]), *_centre(entry[1]), *_centre(entry[2]),
                       *(_number(v) for v in entry[3:7]))


def cell_metrics_table(entries: Sequence[Any] | None, num_cells: int) -> list[CellMetrics]:
    """``cellMetrics`` (as a reader's ``cell_metrics`` gives it) as one row per cell.

    Cells without an entry (or a file without metrics) give all-NaN rows.
    """
    entries = list(entries or ())
    return [_cell_entry(entries[i]) if i < len(entries) else _NAN_CELL
            for i in range(num_cells)]


# ---------------------------------------------------------------------- event metrics
class EventMetrics(NamedTuple):
    """One channel's event metrics (spec ``isxd.md`` §7.2); NaN where nothing is stored."""

    snr: float
    mad: float
    event_rate: float
    event_amp_median: float
    event_amp_sd: float
    rise_median: float
    rise_sd: float
    decay_median: float
    decay_sd: float


#: (field, label in the format notes) of :class:`EventMetrics`.
EVENT_METRIC_LABELS: tuple[tuple[str, str], ...] = tuple(zip(
    EventMetrics._fields,
    ("snr", "mad", "eventRate", "eventAmpMedian", "eventAmpSD", "riseMedian", "riseSD",
     "decayMedian", "decaySD"), strict=True))


def event_metrics_table(table: Any, num_channels: int) -> list[EventMetrics]:
    """A ``(channels, 9)`` metrics array (``EventsFile.channel_metrics``), one row each.

    ``None`` (no metrics stored) gives all-NaN rows.
    """
    width = len(EventMetrics._fields)
    if table is None:
        return [EventMetrics(*([math.nan] * width)) for _ in range(num_channels)]
    return [EventMetrics(*(float(v) for v in row[:width])) for row in table]


# ---------------------------------------------------------------------- channels
SIGNAL_TYPES = {0: "sparse", 1: "dense"}  #: ``signalTypes`` code -> name


@dataclass(frozen=True)
class ChannelInfo:
    """One channel of a GPIO / IMU / event set: name, signal type and sample step.

    ``step`` is the stored ``Ratio`` (seconds; ``float(step)``), ``signal_type`` the
    stored code (0 sparse, 1 dense) and ``signal`` its name.
    """

    index: int
    name: str
    signal_type: int
    step: Any

    @property
    def signal(self) -> str:
        return SIGNAL_TYPES.get(self.signal_type, str(self.signal_type))

    @property
    def step_seconds(self) -> float:
        return float(self.step)


def channel_infos(reader: Any) -> list[ChannelInfo]:
    """The channels of an ``EventsFile`` or ``GpioFile`` (anything with ``channel_names``,
    ``signal_types`` and ``signal_steps`` or ``channel_steps``)."""
    steps = getattr(reader, "signal_steps", None)
    if steps is None:
        steps = reader.channel_steps
    return [ChannelInfo(i, name, int(kind), step) for i, (name, kind, step)
            in enumerate(zip(reader.channel_names, reader.signal_types, steps, strict=True))]


# ---------------------------------------------------------------------- acquisition
#: (attribute of :class:`Acquisition`, key of isx's acquisition summary)
ACQUISITION_FIELDS: tuple[tuple[str, str], ...] = (
    ("microscope_type", "Microscope Type"),
    ("microscope_serial", "Microscope Serial Number"),
    ("gain", "Microscope Gain"),
    ("focus", "Microscope Focus"),
    ("exposure_ms", "Exposure Time (ms)"),
    ("ex_led_power", "Microscope EX LED Power (mw/mm^2)"),
    ("ex_led1_power", "Microscope EX LED 1 Power (mw/mm^2)"),
    ("ex_led2_power", "Microscope EX LED 2 Power (mw/mm^2)"),
    ("og_led_power", "Microscope OG LED Power (mw/mm^2)"),
    ("efocus", "efocus"),
    ("channel", "channel"),
    ("session_name", "Session Name"),
    ("experimenter", "Experimenter Name"),
    ("software_version", "Acquisition SW Version"),
    ("recording_uuid", "Recording UUID"),
    ("animal_id", "Animal ID"),
    ("animal_sex", "Animal Sex"),
    ("animal_species", "Animal Species"),
    ("animal_date_of_birth", "Animal Date of Birth"),
    ("animal_weight", "Animal Weight"),
    ("animal_description", "Animal Description"),
    ("probe_type", "Probe Type"),
    ("probe_diameter_mm", "Probe Diameter (mm)"),
    ("probe_length_mm", "Probe Length (mm)"),
    ("probe_pitch", "Probe Pitch"),
    ("probe_rotation_deg", "Probe Rotation (degrees)"),
    ("probe_flip", "Probe Flip"),
    ("cell_identification_method", "Cell Identification Method"),
    ("trace_units", "Trace Units"),
)


@dataclass(frozen=True)
class Acquisition:
    """The acquisition summary of a file, typed (``None`` where the file says nothing).

    ``summary`` is isx's ``get_acquisition_info()`` dict (display-name keys, every
    key it has, including ones without an attribute here) and ``extra_properties``
    the vendor JSON, verbatim.
    """

    summary: dict[str, Any] = field(default_factory=dict)
    extra_properties: dict[str, Any] | None = None
    microscope_type: str | None = None
    microscope_serial: str | None = None
    gain: float | None = None
    focus: float | None = None
    exposure_ms: float | None = None
    ex_led_power: float | None = None
    ex_led1_power: float | None = None
    ex_led2_power: float | None = None
    og_led_power: float | None = None
    efocus: float | None = None
    channel: str | None = None
    session_name: str | None = None
    experimenter: str | None = None
    software_version: str | None = None
    recording_uuid: str | None = None
    animal_id: str | None = None
    animal_sex: str | None = None
    animal_species: str | None = None
    animal_date_of_birth: str | None = None
    animal_weight: float | None = None
    animal_description: str | None = None
    probe_type: str | None = None
    probe_diameter_mm: float | None = None
    probe_length_mm: float | None = None
    probe_pitch: float | None = None
    probe_rotation_deg: float | None = None
    probe_flip: str | None = None
    cell_identification_method: str | None = None
    trace_units: str | None = None

    @classmethod
    def from_summary(cls, summary: dict[str, Any] | None,
                     extra_properties: dict[str, Any] | None = None) -> Acquisition:
        """Typed view of an isx-style summary dict (see :data:`ACQUISITION_FIELDS`)."""
        summary = dict(summary or {})
        values = {attr: summary[key] for attr, key in ACQUISITION_FIELDS if key in summary}
        return cls(summary=summary, extra_properties=extra_properties, **values)


def acquisition(reader: Any) -> Acquisition:
    """The typed acquisition summary of any reader (movie, cell set, ``.isxb``, ...).

    Uses the reader's own ``acquisition_info()`` where it has one (``.isxb``), else
    isx's summary of its ``extra_properties``.
    """
    extra = getattr(reader, "extra_properties", None)
    if hasattr(reader, "acquisition_info"):  # a property (.isxb) or a method
        own = reader.acquisition_info
        summary = own() if callable(own) else own
    else:
        from .acquisition import acquisition_info  # a leaf module too (tables only)
        summary = acquisition_info(extra if isinstance(extra, dict) else None)
    return Acquisition.from_summary(summary, extra if isinstance(extra, dict) else None)


# ---------------------------------------------------------------------- readers
@runtime_checkable
class Reader(Protocol):
    """What every reader :func:`isxio.open` returns has (checked by ``isinstance``)."""

    path: str

    @property
    def timing(self) -> Any:
        """Timing of the samples (``TimingInfo``)."""

    @property
    def extra_properties(self) -> Any:
        """The vendor metadata, verbatim (a dict, or None)."""

    def close(self) -> None:
        """Release the file (lazy arrays reopen it on use)."""

    def __enter__(self) -> Any: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Any: ...
