"""Acquisition summaries derived from ``extraProperties``, as isx reports them.

``get_acquisition_info()`` in isx does not return the raw ``extraProperties`` but a
flat summary with display names ("Animal Sex", "Microscope Gain", ...).  The mapping
is declared here as data: (summary key, path in extraProperties).
"""

from __future__ import annotations

from typing import Any

__all__ = ["acquisition_info"]

_MISSING = object()

# (summary key, path) copied verbatim when the path exists
_ANIMAL = [
    ("Animal Sex", "sex"), ("Animal Date of Birth", "dob"), ("Animal ID", "id"),
    ("Animal Species", "species"), ("Animal Weight", "weight"),
    ("Animal Description", "description"),
]
_MICROSCOPE = [
    ("Microscope Focus", "focus"), ("Microscope Gain", "gain"),
    ("Microscope Serial Number", "serial"), ("Microscope Type", "type"),
    ("Exposure Time (ms)", "exp"),
]
_PROBE = [
    ("Probe Diameter (mm)", "diameter"), ("Probe Flip", "flip"),
    ("Probe Length (mm)", "length"), ("Probe Pitch", "pitch"),
    ("Probe Rotation (degrees)", "rotation"), ("Probe Type", "type"),
]
_CELLSET = [("Cell Identification Method", "method"), ("Trace Units", "units")]
_VESSELSET = [
    ("Vessel Set Type", "type"), ("Trace Units", "units"),
    ("Time Increment (s)", "timeIncrement"), ("Time Window (s)", "timeWindow"),
]
_VESSEL_ERRORS = [
    ("Vessels with Clipping Error", "clippedVessels"),
    ("Vessels with No Significant Pixels Error", "noSignificantVessels"),
    ("Vessels with Direction Change Error", "directionChangedVessels"),
]


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def _copy(out: dict, src: Any, table: list[tuple[str, str]]) -> None:
    if not isinstance(src, dict):
        return
    for name, key in table:
        if key in src:
            out[name] = src[key]


def _spaced(values: Any) -> str:
    return "".join(f"{v} " for v in values) if isinstance(values, list) else ""


def _microscope(out: dict, extra: dict) -> None:
    mic = extra.get("microscope")
    if not isinstance(mic, dict):
        return
    _copy(out, mic, _MICROSCOPE)
    led = mic.get("led")
    if isinstance(led, dict):
        multicolor = mic.get("dualColor") is not None
        power2 = led.get("ogPower", _MISSING)
        if multicolor and _get(mic, "dualColor", "enabled") is True:
            power2 = led.get("exPower2", _MISSING)
        n1, n2 = ("EX LED 1", "EX LED 2") if multicolor else ("EX LED", "OG LED")
        for name, value in ((n1, led.get("exPower", _MISSING)), (n2, power2)):
            if value is not _MISSING:
                out[f"Microscope {name} Power (mw/mm^2)"] = value
    custom = mic.get("customMetadata")
    if isinstance(custom, dict):
        out.update(custom)


def _idps(out: dict, idps: Any) -> None:
    if not isinstance(idps, dict):
        return
    if "efocus" in idps:
        out["efocus"] = idps["efocus"]
    if "channel" in idps:
        out["channel"] = idps["channel"]
    if "interpolatedFrames" in idps:
        out["Interpolated Samples"] = _spaced(idps["interpolatedFrames"])
    if "mc_padding" in idps:
        out["Motion correction padding"] = idps["mc_padding"]
    _copy(out, idps.get("cellset"), _CELLSET)
    vessels = idps.get("vesselset")
    if isinstance(vessels, dict):
        _copy(out, vessels, _VESSELSET)
        if "invalidWindows" in vessels:
            out["Windows with Invalid Frame Error"] = _spaced(vessels["invalidWindows"])
        for name, key in _VESSEL_ERRORS:
            out[name] = vessels.get(key, "{}")


def acquisition_info(extra: dict[str, Any] | None) -> dict[str, Any] | None:
    """The acquisition summary isx's ``get_acquisition_info()`` returns for ``.isxd`` files.

    Returns None when ``extraProperties`` is null, as isx does.
    """
    if not isinstance(extra, dict):
        return None
    out: dict[str, Any] = {}
    _copy(out, extra.get("animal"), _ANIMAL)
    _microscope(out, extra)
    if "name" in extra:
        out["Session Name"] = extra["name"]
    name = _get(extra, "personnel", "name")
    if name is not _MISSING:
        out["Experimenter Name"] = name
    _copy(out, extra.get("probe"), _PROBE)
    version = _get(extra, "producer", "versionBE")
    if isinstance(version, str):
        out["Acquisition SW Version"] = version.split("-")[0]
    _idps(out, extra.get("idps"))
    uuid = _get(extra, "processingInterface", "recordingUUID")
    if uuid is not _MISSING:
        out["Recording UUID"] = uuid
    return dict(sorted(out.items())) if out else None
