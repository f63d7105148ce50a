"""NWB metadata from Inscopix acquisition metadata: tables, not if-chains.

Everything here is taken from the files (isx's acquisition summary, the timing and
spacing); nothing is invented.  What NWB or DANDI require and the files lack is left
to the user's metadata, and :func:`missing_dandi_fields` says which.
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from typing import Any

from ..formats.common import SpacingInfo

__all__ = [
    "SEX_TERMS",
    "device_entries",
    "imaging_plane_description",
    "missing_dandi_fields",
    "nwbfile_entries",
    "subject_entries",
]

#: the file's "Animal Sex" (lower case) -> NWB's sex term
SEX_TERMS = {"m": "M", "male": "M", "f": "F", "female": "F", "u": "U", "unknown": "U",
             "o": "O", "other": "O"}

#: (summary key, label, unit) stated in an imaging plane's description
PLANE_SETTINGS = [
    ("exposure_time_ms", "exposure", "ms"),
    ("microscope_gain", "gain", ""),
    ("microscope_focus", "focus", ""),
    ("efocus", "efocus", "µm"),
    ("led_power_ex_mw_per_mm2", "EX LED power", "mW/mm²"),
    ("led_power_og_mw_per_mm2", "OG LED power", "mW/mm²"),
    ("led_power_1_mw_per_mm2", "EX LED 1 power", "mW/mm²"),
    ("led_power_2_mw_per_mm2", "EX LED 2 power", "mW/mm²"),
]

_BINOMIAL = re.compile(r"^[A-Z][a-z]+ [a-z]+( [a-z]+)?$")


def nwbfile_entries(meta: dict[str, Any], what: str) -> dict[str, Any]:
    """``NWBFile`` metadata: start time (aware), session id, experimenter, description."""
    session = meta.get("session", {})
    out: dict[str, Any] = {"session_start_time": meta["session_start_time"]}
    name = session.get("session_name")
    if name:
        out["session_id"] = str(name)
    if session.get("experimenter_name"):
        out["experimenter"] = [str(session["experimenter_name"])]
    device = meta.get("device", {}).get("device_name")
    out["session_description"] = " ".join(
        part for part in (f"Inscopix {device}" if device else "Inscopix", what,
                          f"(session {name!r})" if name else "") if part)
    return out


def device_key(meta: dict[str, Any]) -> str:
    """The registry key of the microscope: one entry per serial number."""
    serial = meta.get("device", {}).get("device_serial_number")
    return f"inscopix_{_slug(serial).lower()}" if serial else "inscopix_microscope"


def _slug(value: Any) -> str:
    """``value`` with every run of other characters than letters and digits as ``_``."""
    return re.sub(r"[^0-9A-Za-z]+", "_", str(value)).strip("_")


def device_entries(meta: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(device key, ``Devices`` registry, ``DeviceModels`` registry) of the microscope."""
    device = meta.get("device", {})
    key = device_key(meta)
    model = device.get("device_name")
    serial = device.get("device_serial_number")
    # one device per serial number, named so that two microscopes never share a name
    entry: dict[str, Any] = {"name": f"Microscope_{_slug(serial)}" if serial else "Microscope"}
    parts = [f"Inscopix {model}" if model else "Inscopix microscope"]
    if device.get("acquisition_software_version"):
        parts.append(f"acquisition software {device['acquisition_software_version']}")
    entry["description"] = ", ".join(parts)
    if device.get("device_serial_number"):
        entry["serial_number"] = str(device["device_serial_number"])
    models: dict[str, Any] = {}
    model_key = f"inscopix_{_slug(model or 'microscope').lower()}_model"  # shared by model
    models[model_key] = {"name": str(model) if model else "Inscopix microscope",
                         "manufacturer": "Inscopix",
                         "description": f"Inscopix {model or 'microscope'} (model as the "
                                        "file names it)"}
    entry["device_model_metadata_key"] = model_key
    return key, {key: entry}, models


def imaging_plane_description(device: dict[str, Any], what: str) -> str:
    """The plane's acquisition settings, which no NWB field holds, in words."""
    settings = [f"{label} {device[key]}{(' ' + unit) if unit else ''}"
                for key, label, unit in PLANE_SETTINGS if key in device]
    return f"{what}" + (f" ({'; '.join(settings)})" if settings else "")


def spacing_entries(spacing: SpacingInfo, efocus: int | None) -> dict[str, Any]:
    """``grid_spacing`` / ``origin_coords`` in micrometres (efocus as the z origin)."""
    grid = [float(spacing.pixel_size[0]), float(spacing.pixel_size[1])]
    origin = [float(spacing.top_left[0]), float(spacing.top_left[1])]
    if efocus is not None:
        origin.append(float(efocus))
    return {"grid_spacing": grid, "grid_spacing_unit": "micrometers",
            "origin_coords": origin, "origin_coords_unit": "micrometers"}


def _date_of_birth(value: Any) -> _dt.datetime | None:
    try:
        dob = _dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return dob if dob.tzinfo else dob.replace(tzinfo=_dt.timezone.utc)


def subject_entries(meta: dict[str, Any]) -> dict[str, Any]:
    """``Subject`` metadata from the file's animal fields (empty when it has none)."""
    subject = meta.get("subject", {})
    out: dict[str, Any] = {}
    notes = []
    if subject.get("animal_id"):
        out["subject_id"] = str(subject["animal_id"])
    species = subject.get("species")
    if species:
        out["species" if _BINOMIAL.match(str(species)) else "strain"] = str(species)
    if subject.get("sex"):
        out["sex"] = SEX_TERMS.get(str(subject["sex"]).strip().lower(), "U")
    if subject.get("date_of_birth"):
        dob = _date_of_birth(subject["date_of_birth"])
        if dob is not None:
            out["date_of_birth"] = dob
        else:
            notes.append(f"date of birth as recorded: {subject['date_of_birth']}")
    if subject.get("weight"):  # NWB wants "<number> <unit>"; the files give no unit
        notes.append(f"weight as recorded: {subject['weight']} (unit not stated in the file)")
    if subject.get("description"):
        notes.insert(0, str(subject["description"]))
    if notes:
        out["description"] = "; ".join(notes)
    return out


#: (path in the metadata, what DANDI wants) checked by :func:`missing_dandi_fields`
DANDI_FIELDS = [
    (("Subject", "subject_id"), "Subject.subject_id"),
    (("Subject", "species"), "Subject.species (a Latin binomial or NCBI taxonomy term)"),
    (("Subject", "sex"), "Subject.sex"),
    (("Subject", "age"), "Subject.age (ISO 8601 duration, e.g. 'P90D') or date_of_birth"),
]


def missing_dandi_fields(metadata: dict[str, Any]) -> list[str]:
    """DANDI-required metadata that neither the files nor the user supplied."""
    missing = []
    for path, label in DANDI_FIELDS:
        node: Any = metadata
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node in (None, "", "U") and not (
                path[-1] == "age" and (metadata.get("Subject") or {}).get("date_of_birth")):
            missing.append(label)
    return missing


def warn_missing_dandi_fields(metadata: dict[str, Any], where: str) -> None:
    """One warning naming every DANDI-required field still missing."""
    missing = missing_dandi_fields(metadata)
    if missing:
        warnings.warn(f"{where}: DANDI requires metadata the Inscopix files do not hold; "
                      f"add to the metadata: {', '.join(missing)}", UserWarning, stacklevel=3)
