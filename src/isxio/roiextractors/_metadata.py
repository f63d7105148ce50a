"""Acquisition metadata in the shape neuroconv's Inscopix interfaces read.

roiextractors' isx-backed extractors expose ``_get_device_info()``, ``_get_subject_info()``,
``_get_session_info()``, ``_get_probe_info()``, ``_get_analysis_info()`` and
``_get_metadata()``, each a dict keyed by snake-case names taken from isx's acquisition
summary (``get_acquisition_info()``).  The same keys are produced here from tables of
(target key, summary key); values that are empty, zero or ``"none"`` are left out, as
those classes do, so code written against them keeps working.  The verbatim vendor
metadata stays reachable as ``extra_properties`` and ``get_acquisition_info()``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ..acquisition import acquisition_info
from ..formats.common import Time

__all__ = ["ACQUISITION_TABLES", "InscopixMetadataMixin", "pick"]

#: section of ``_get_metadata()`` -> [(target key, key of isx's acquisition summary)]
ACQUISITION_TABLES: dict[str, list[tuple[str, str]]] = {
    "device": [
        ("device_name", "Microscope Type"),
        ("device_serial_number", "Microscope Serial Number"),
        ("acquisition_software_version", "Acquisition SW Version"),
        ("exposure_time_ms", "Exposure Time (ms)"),
        ("microscope_focus", "Microscope Focus"),
        ("microscope_gain", "Microscope Gain"),
        ("channel", "channel"),
        ("efocus", "efocus"),
        ("led_power_ex_mw_per_mm2", "Microscope EX LED Power (mw/mm^2)"),
        ("led_power_og_mw_per_mm2", "Microscope OG LED Power (mw/mm^2)"),
        ("led_power_1_mw_per_mm2", "Microscope EX LED 1 Power (mw/mm^2)"),
        ("led_power_2_mw_per_mm2", "Microscope EX LED 2 Power (mw/mm^2)"),
    ],
    "subject": [
        ("animal_id", "Animal ID"),
        ("species", "Animal Species"),
        ("sex", "Animal Sex"),
        ("weight", "Animal Weight"),
        ("date_of_birth", "Animal Date of Birth"),
        ("description", "Animal Description"),
    ],
    "session": [
        ("session_name", "Session Name"),
        ("experimenter_name", "Experimenter Name"),
    ],
    "analysis": [
        ("cell_identification_method", "Cell Identification Method"),
        ("trace_units", "Trace Units"),
    ],
    "probe": [(key, key) for key in (
        "Probe Diameter (mm)", "Probe Flip", "Probe Length (mm)", "Probe Pitch",
        "Probe Rotation (degrees)", "Probe Type")],
}


def _is_set(value: Any) -> bool:
    """A value worth reporting: not None, empty, zero or the string "none"."""
    if value is None or value == "" or (isinstance(value, int | float) and value == 0):
        return False
    return not (isinstance(value, str) and value.strip().lower() == "none")


def pick(summary: dict[str, Any] | None, table: list[tuple[str, str]]) -> dict[str, Any]:
    """The entries of ``summary`` named in ``table``, renamed, that hold a value."""
    if not summary:
        return {}
    return {target: summary[source] for target, source in table
            if source in summary and _is_set(summary[source])}


class InscopixMetadataMixin:
    """``_get_*_info()`` helpers over a reader's ``extra_properties`` and start time.

    Subclasses provide :meth:`_extra_properties`, :meth:`_start` and
    :meth:`get_image_shape` (or ``get_frame_shape``).
    """

    def _extra_properties(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def _start(self) -> Time:
        raise NotImplementedError

    @property
    def extra_properties(self) -> dict[str, Any] | None:
        """The file's ``extraProperties`` JSON, verbatim (None when absent)."""
        return self._extra_properties()

    def get_acquisition_info(self) -> dict[str, Any] | None:
        """isx's acquisition summary ("Microscope Type", "Animal ID", ...), or None."""
        return acquisition_info(self._extra_properties())

    def _section(self, name: str) -> dict[str, Any]:
        return pick(self.get_acquisition_info(), ACQUISITION_TABLES[name])

    def _get_session_start_time(self) -> _dt.datetime:
        """The recording's start, timezone-aware (the file's own UTC offset)."""
        return self._start().to_datetime(local=True)

    def _get_device_info(self) -> dict[str, Any]:
        info = self._section("device")
        info["field_of_view_pixels"] = tuple(self.get_frame_shape())  # type: ignore[attr-defined]
        return info

    def _get_subject_info(self) -> dict[str, Any]:
        return self._section("subject")

    def _get_session_info(self) -> dict[str, Any]:
        return self._section("session")

    def _get_analysis_info(self) -> dict[str, Any]:
        return self._section("analysis")

    def _get_probe_info(self) -> dict[str, Any]:
        return self._section("probe")

    def _get_metadata(self) -> dict[str, Any]:
        """Every section above in one dict (the layout neuroconv's interfaces read)."""
        return {
            "device": self._get_device_info(),
            "subject": self._get_subject_info(),
            "analysis": self._get_analysis_info(),
            "session": self._get_session_info(),
            "probe": self._get_probe_info(),
            "session_start_time": self._get_session_start_time(),
        }
