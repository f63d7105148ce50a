"""isx-compatible ``CellSet``, ``EventSet``, ``GpioSet`` and ``VesselSet``."""

from __future__ import annotations

import os
import textwrap
from enum import Enum
from typing import Any

import numpy as np

from ..acquisition import acquisition_info
from ..errors import IsxError
from ..formats.cellset import CellSetFile, CellSetWriter, set_cell_statuses
from ..formats.events import EVENT_METRIC_NAMES, EventsFile, EventsWriter
from ..formats.vesselset import VesselSetFile, VesselSetWriter, set_vessel_statuses
from ._base import as_type, check_index, check_isxd_type, fspath, status_code, status_name
from .core import Spacing, Timing

__all__ = ["CellSet", "EventSet", "GpioSet", "VesselSet"]

_NULL = ("Underlying pointer is null. Try using the read or write function instead of the "
         "constructor.")


class _FileBacked:
    """Common state: a reader (read mode) or a writer (write mode) and the path."""

    _kind = "data set"

    def __init__(self) -> None:
        self._reader: Any = None
        self._writer: Any = None
        self._path: str | None = None
        self._read_only = True

    @property
    def file_path(self) -> str | None:
        return self._path

    @property
    def mode(self) -> str | None:
        if self._path is None:
            return None
        return "r" if self._read_only and self._writer is None else "w"

    @property
    def reader(self) -> Any:
        """The underlying isxio reader."""
        return self._reader

    def _require_reader(self) -> Any:
        if self._reader is None:
            if self._writer is not None:
                raise IsxError(f"{self._path}: {self._kind} is open for writing; call flush() "
                               "first")
            raise RuntimeError(_NULL)
        return self._reader

    def _require_writer(self, what: str) -> Any:
        if self._writer is None:
            raise RuntimeError(f"Cannot set {what} in read-only mode")
        return self._writer

    def get_acquisition_info(self) -> dict[str, Any] | None:
        """Acquisition summary as isx reports it (None if the file has none)."""
        return acquisition_info(self._require_reader().extra_properties)

    def __del__(self) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.close()


class _Writable(_FileBacked):
    """A data set isx can also write: :meth:`flush` saves it and reopens it for reading."""

    _reader_type: Any = None  #: the isxio reader class

    def _open_reader(self) -> Any:
        return self._reader_type(self._path)

    def flush(self) -> None:
        if self._writer is None:
            return
        self._writer.flush()
        self._writer = None
        self._reader = self._open_reader()


class _ItemSet(_Writable):
    """What ``CellSet`` and ``VesselSet`` share: geometry, reading, writing, status edits.

    Subclasses name their items (``_item``: 'cell' or 'vessel'), their ``.isxd``
    type (``_type_code``, ``_type_name``) and the isxio classes and status editor.
    """

    _item = "cell"
    _type_code, _type_name = 1, "Cell Set"
    _writer_type: Any = None
    _rewrite_statuses: Any = None  #: ``set_cell_statuses`` / ``set_vessel_statuses``

    @property
    def timing(self) -> Timing | None:
        src = self._reader or self._writer
        return None if src is None else Timing.from_info(_timing_of(src))

    @property
    def spacing(self) -> Spacing | None:
        src = self._reader or self._writer
        return None if src is None else Spacing.from_info(_spacing_of(src))

    def _num_items(self) -> int | None:
        src = self._reader or self._writer
        return None if src is None else getattr(src, f"num_{self._item}s")

    @classmethod
    def _read(cls, file_path: str | os.PathLike[str], read_only: bool) -> Any:
        self = cls()
        self._path = fspath(file_path)
        check_isxd_type(self._path, (cls._type_code,), cls._type_name)
        self._reader = self._open_reader()
        self._read_only = bool(read_only)
        return self

    @classmethod
    def _write(cls, file_path: str | os.PathLike[str], timing: Timing, spacing: Spacing,
               *args: Any) -> Any:
        if not isinstance(timing, Timing):
            raise TypeError("timing must be a Timing object")
        if not isinstance(spacing, Spacing):
            raise ValueError("spacing must be a Spacing object")
        self = cls()
        self._writer = cls._writer_type(file_path, timing.info, spacing.info, *args)
        self._path = os.fspath(file_path)
        self._read_only = False
        return self

    def _at(self, index: int) -> tuple[Any, int]:
        """The reader and the checked index of item ``index``."""
        reader = self._require_reader()
        return reader, check_index(index, getattr(reader, f"num_{self._item}s"), self._item)

    def _set_status(self, index: int, status: str) -> None:
        """Set the status of an item; like isx this writes the file immediately."""
        if self.mode != "w":
            raise RuntimeError(f"Cannot set {self._item} status in read-only mode")
        code = status_code(status)
        if self._writer is not None:
            getattr(self._writer, f"set_{self._item}_status")(int(index), code)
            return
        reader, i = self._at(index)
        statuses = list(reader.statuses)
        statuses[i] = code
        reader.close()
        self._rewrite_statuses(self._path, statuses)
        self._reader = self._open_reader()


class CellSet(_ItemSet):
    """Cell images and traces backed by a file (``isx.CellSet``)."""

    _kind = "cell set"
    _MAX_CELL_NAME_SIZE = 256
    _reader_type, _writer_type = CellSetFile, CellSetWriter
    _rewrite_statuses = staticmethod(set_cell_statuses)

    @property
    def num_cells(self) -> int | None:
        return self._num_items()

    @classmethod
    def read(cls, file_path: str | os.PathLike[str], read_only: bool = True) -> CellSet:
        return cls._read(file_path, read_only)

    @classmethod
    def write(cls, file_path: str | os.PathLike[str], timing: Timing, spacing: Spacing
              ) -> CellSet:
        return cls._write(file_path, timing, spacing)

    def get_cell_name(self, index: int) -> str:
        reader, i = self._at(index)
        return reader.names[i]

    def get_cell_status(self, index: int) -> str:
        reader, i = self._at(index)
        return status_name(reader.statuses[i])

    def set_cell_status(self, index: int, status: str) -> None:
        """Set the status of a cell; like isx this writes the file immediately."""
        self._set_status(index, status)

    def get_cell_trace_data(self, index: int) -> np.ndarray:
        reader, i = self._at(index)
        return np.array(reader.traces[i])

    def get_cell_image_data(self, index: int) -> np.ndarray:
        reader, i = self._at(index)
        return np.array(reader.footprints[i])

    def set_cell_data(self, index: int, image: np.ndarray, trace: np.ndarray,
                      name: str | None) -> None:
        writer = self._require_writer("cell data")
        if name is None:
            name = f"C{index}"
        shape = _spacing_of(writer).shape
        image = as_type(np.asarray(image).reshape(shape), np.float32)
        writer.set_cell_data(int(index), image, as_type(trace, np.float32), name)

    def __str__(self) -> str:
        return textwrap.dedent(f"""\
        CellSet
            file_path: {self.file_path}
            mode: {self.mode}
            timing: {self.timing}
            spacing: {self.spacing}
            num_cells: {self.num_cells}""")


def _timing_of(obj: Any) -> Any:
    return obj.timing if hasattr(obj, "timing") else obj.header.timing


def _spacing_of(obj: Any) -> Any:
    return obj.spacing if hasattr(obj, "spacing") else obj.header.spacing


class EventSet(_Writable):
    """Event times and amplitudes per cell (``isx.EventSet``)."""

    _kind = "event set"
    _reader_type = EventsFile

    def __init__(self) -> None:
        super().__init__()
        self._cell_dict: dict[str, int] = {}
        self._write_timing: Timing | None = None

    @property
    def timing(self) -> Timing | None:
        if self._reader is not None:
            return Timing.from_info(self._reader.timing)
        return self._write_timing

    @property
    def num_cells(self) -> int | None:
        if self._reader is not None:
            return self._reader.num_channels
        return None if self._writer is None else self._writer.num_channels

    @property
    def cell_dict(self) -> dict[str, int]:
        return self._cell_dict

    @classmethod
    def read(cls, file_path: str | os.PathLike[str]) -> EventSet:
        self = cls()
        self._path = fspath(file_path)
        check_isxd_type(self._path, (5,), "Event Set")
        self._reader = EventsFile(self._path)
        self._cell_dict = {name: i for i, name in enumerate(self._reader.channel_names)}
        return self

    @classmethod
    def write(cls, file_path: str | os.PathLike[str], timing: Timing, cell_names: list[str]
              ) -> EventSet:
        if not isinstance(timing, Timing):
            raise TypeError("timing must be a Timing object")
        if not isinstance(cell_names, list):
            raise TypeError("Input must be contained in a list.")
        if len(cell_names) <= 0:
            raise ValueError("cell_names must not be empty")
        self = cls()
        self._writer = EventsWriter(file_path, timing.info, list(cell_names))
        self._path = os.fspath(file_path)
        self._read_only = False
        self._write_timing = timing
        self._cell_dict = {name: i for i, name in enumerate(cell_names)}
        return self

    def get_cell_name(self, index: int) -> str:
        reader = self._require_reader()
        return reader.channel_names[check_index(index, reader.num_channels, "cell")]

    def get_cell_index(self, name: str) -> int:
        try:
            return self._cell_dict[name]
        except KeyError:
            raise KeyError(f'Cell with name "{name}" does not exist.') from None

    def get_cell_data(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(offsets in µs since the start, amplitudes)`` of a cell's events."""
        reader = self._require_reader()
        return reader.channel_data(check_index(index, reader.num_channels, "cell"))

    def get_cell_metrics(self, index: int) -> dict[str, float] | None:
        """The event metrics of a cell: ``{name: value}`` (isxio only: isx has no getter).

        Names follow :data:`isxio.formats.events.EVENT_METRIC_NAMES` (``snr``, ``mad``,
        ``eventRate``, ...); values are the stored doubles, NaN where a value is null or
        the cell has no metrics.  None when the file stores no metrics.  isx shows only
        ``snr`` and ``eventRate``, in ``export_event_set_to_csv(output_props_file=...)``.
        """
        reader = self._require_reader()
        i = check_index(index, reader.num_channels, "cell")
        table = reader.channel_metrics
        if table is None:
            return None
        return dict(zip(EVENT_METRIC_NAMES, table[i].tolist(), strict=True))

    def set_cell_data(self, index: int, offsets: np.ndarray, amplitudes: np.ndarray) -> None:
        writer = self._require_writer("cell data")
        if len(offsets) != len(amplitudes):
            raise TypeError("Number of events must be the same as the number of timestamps.")
        writer.set_cell_data(int(index), as_type(offsets, np.uint64),
                             as_type(amplitudes, np.float32))

    def __str__(self) -> str:
        return textwrap.dedent(f"""\
        EventSet
            file_path: {self.file_path}
            mode: {self.mode}
            timing: {self.timing}
            num_cells: {self.num_cells}""")


def _open_gpio(path: str) -> Any:
    ext = os.path.splitext(path)[1].lower()
    if ext in (".gpio", ".raw"):
        from ..formats.gpio import GpioFile

        return GpioFile(path)
    if ext == ".imu":
        from ..formats.imu import ImuFile

        return ImuFile(path)
    from ..formats.events import EventsFile

    check_isxd_type(path, (3, 7), "GPIO")
    return EventsFile(path)


class GpioSet(_FileBacked):
    """GPIO / IMU channels (``isx.GpioSet``): reads ``.gpio``, ``.raw``, ``.imu`` and ``.isxd``."""

    _kind = "GPIO set"
    _MAX_CHANNEL_NAME_SIZE = 256

    def __init__(self) -> None:
        super().__init__()
        self._channel_dict: dict[str, int] = {}

    @property
    def timing(self) -> Timing | None:
        return None if self._reader is None else Timing.from_info(self._reader.timing)

    @property
    def num_channels(self) -> int | None:
        return None if self._reader is None else len(self._reader.channel_names)

    @property
    def channel_dict(self) -> dict[str, int]:
        return self._channel_dict

    @classmethod
    def read(cls, file_path: str | os.PathLike[str]) -> GpioSet:
        self = cls()
        self._path = fspath(file_path)
        self._reader = _open_gpio(self._path)
        self._channel_dict = {n: i for i, n in enumerate(self._reader.channel_names)}
        return self

    def get_channel_name(self, index: int) -> str:
        reader = self._require_reader()
        return reader.channel_names[check_index(index, len(reader.channel_names), "channel")]

    def get_channel_index(self, name: str) -> int:
        try:
            return self._channel_dict[name]
        except KeyError:
            raise KeyError(f'Channel with name "{name}" does not exist.') from None

    def get_channel_data(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(offsets in µs since the start, values)`` of a channel."""
        reader = self._require_reader()
        i = check_index(index, len(reader.channel_names), "channel")
        return reader.channel_data(i)  # .imu readers already report acceleration in g

    def get_acquisition_info(self) -> dict[str, Any] | None:
        reader = self._require_reader()
        if hasattr(reader, "acquisition_info"):
            return reader.acquisition_info()
        return acquisition_info(reader.extra_properties)

    def __str__(self) -> str:
        return textwrap.dedent(f"""\
        GPIO Set
            file_path: {self.file_path}
            mode: {self.mode}
            timing: {self.timing}
            num_channels: {self.num_channels}""")


class VesselSet(_ItemSet):
    """Vessel images, lines and traces (``isx.VesselSet``)."""

    _kind = "vessel set"
    _MAX_VESSEL_NAME_SIZE = 256
    _item = "vessel"
    _type_code, _type_name = 8, "Vessel Set"
    _reader_type, _writer_type = VesselSetFile, VesselSetWriter
    _rewrite_statuses = staticmethod(set_vessel_statuses)

    class VesselSetType(Enum):
        VESSEL_DIAMETER = 0
        RBC_VELOCITY = 1

        @classmethod
        def from_str(cls, type_str: str) -> VesselSet.VesselSetType:
            return cls.RBC_VELOCITY if type_str == "rbc velocity" else cls.VESSEL_DIAMETER

    @property
    def num_vessels(self) -> int | None:
        return self._num_items()

    @classmethod
    def read(cls, file_path: str | os.PathLike[str], read_only: bool = True) -> VesselSet:
        return cls._read(file_path, read_only)

    @classmethod
    def write(cls, file_path: str | os.PathLike[str], timing: Timing, spacing: Spacing,
              vessel_type: str) -> VesselSet:
        kind = ("rbc velocity" if cls.VesselSetType.from_str(vessel_type)
                is cls.VesselSetType.RBC_VELOCITY else "vessel diameter")
        return cls._write(file_path, timing, spacing, kind)

    def get_vessel_name(self, index: int) -> str:
        reader, i = self._at(index)
        return reader.names[i]

    def get_vessel_status(self, index: int) -> str:
        reader, i = self._at(index)
        return status_name(reader.statuses[i])

    def set_vessel_status(self, index: int, status: str) -> None:
        """Set the status of a vessel; like isx this writes the file immediately."""
        self._set_status(index, status)

    def get_vessel_trace_data(self, index: int) -> np.ndarray:
        reader, i = self._at(index)
        return np.array(reader.traces[i])

    def get_vessel_image_data(self, index: int) -> np.ndarray:
        reader, _ = self._at(index)
        return np.array(reader.projection)

    def get_vessel_line_data(self, index: int) -> np.ndarray:
        reader, i = self._at(index)
        return np.array(reader.lines[i])

    def get_vessel_set_type(self) -> VesselSet.VesselSetType:
        return self.VesselSetType.from_str(self._require_reader().kind)

    def get_vessel_center_trace_data(self, index: int) -> np.ndarray:
        reader, i = self._at(index)
        return np.array(reader.center_traces[i])

    def get_vessel_direction_trace_data(self, index: int) -> np.ndarray:
        reader, i = self._at(index)
        return np.array(reader.direction_traces[i])

    def has_correlation_heatmaps(self) -> bool:
        return bool(self._require_reader().has_correlations)

    def get_vessel_correlations_data(self, index: int, frame: int) -> np.ndarray:
        reader, i = self._at(index)
        corr = reader.correlations(i)
        return np.array(corr[check_index(frame, len(corr), "frame")])

    def set_vessel_diameter_data(self, index: int, image: np.ndarray, line: np.ndarray,
                                 trace: np.ndarray, center_trace: np.ndarray,
                                 name: str | None = None) -> None:
        writer = self._require_writer("vessel data")
        writer.set_vessel_diameter_data(
            int(index), as_type(image, np.float32), as_type(line, np.int64),
            as_type(trace, np.float32), as_type(center_trace, np.float32),
            name=f"V{index}" if name is None else name)

    def set_rbc_velocity_data(self, index: int, image: np.ndarray, line: np.ndarray,
                              trace: np.ndarray, direction_trace: np.ndarray,
                              correlations_trace: np.ndarray | None = None,
                              name: str | None = None) -> None:
        writer = self._require_writer("vessel data")
        corr = None if correlations_trace is None else as_type(correlations_trace, np.float32)
        writer.set_rbc_velocity_data(
            int(index), as_type(image, np.float32), as_type(line, np.int64),
            as_type(trace, np.float32), as_type(direction_trace, np.float32), corr,
            name=f"V{index}" if name is None else name)

    def __str__(self) -> str:
        return textwrap.dedent(f"""\
        VesselSet
            file_path: {self.file_path}
            mode: {self.mode}
            timing: {self.timing}
            spacing: {self.spacing}
            num_vessels: {self.num_vessels}""")
