"""What every isxio interface shares: the file's own start time and temporal alignment.

Each interface reads one stream (a movie, a cell set, GPIO, ...) whose timestamps are
seconds from *its own* start time.  :class:`InscopixTimedInterface` keeps those
original timestamps, lets neuroconv (or :class:`~isxio.neuroconv.InscopixSessionConverter`)
shift or replace them, and puts the file's timezone-aware start into the metadata.
"""

from __future__ import annotations

import datetime as _dt
from abc import abstractmethod
from typing import Any

import numpy as np
from neuroconv.basetemporalalignmentinterface import BaseTemporalAlignmentInterface
from neuroconv.utils import DeepDict

from ..formats.common import Time

__all__ = ["InscopixTimedInterface", "start_datetime"]


def start_datetime(start: Time) -> _dt.datetime:
    """A file's start as a timezone-aware datetime in the recording's own UTC offset."""
    return start.to_datetime(local=True)


class InscopixTimedInterface(BaseTemporalAlignmentInterface):
    """Base of isxio's interfaces: original timestamps, alignment, and the start time.

    Subclasses implement :meth:`_start` (the file's start :class:`~isxio.formats.common.Time`)
    and :meth:`get_original_timestamps` (seconds from that start, one per sample).
    """

    _aligned: np.ndarray | None = None

    @abstractmethod
    def _start(self) -> Time:
        """The start time stored in the file."""

    def get_start_time(self) -> _dt.datetime:
        """The stream's start as stored in the file (timezone-aware)."""
        return start_datetime(self._start())

    def get_timestamps(self) -> np.ndarray:
        """Timestamps in seconds from the session start (aligned ones once set)."""
        if self._aligned is not None:
            return self._aligned
        return np.asarray(self.get_original_timestamps(), dtype=np.float64)

    def set_aligned_timestamps(self, aligned_timestamps: Any) -> None:
        """Replace this stream's timestamps (seconds from the common session start)."""
        aligned = np.asarray(aligned_timestamps, dtype=np.float64)
        expected = len(self.get_original_timestamps())
        if aligned.shape != (expected,):
            raise ValueError(f"{type(self).__name__}: {aligned.shape[0] if aligned.ndim else 0} "
                             f"aligned timestamps given, the stream has {expected} samples")
        self._aligned = aligned

    def get_metadata(self) -> DeepDict:
        metadata = super().get_metadata()
        metadata["NWBFile"]["session_start_time"] = self.get_start_time()
        return metadata
