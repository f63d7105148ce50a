"""Converting one planned session: build, check, write to a temporary name, rename.

:func:`run_session` never raises: it returns a :class:`Result` (so one failing session
does not stop the others, wherever it runs).  The NWB file is written under a hidden
temporary name and renamed when complete, so an NWB file under the final name is a
finished one; re-running skips it if it also opens with pynwb.
"""

from __future__ import annotations

import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .names import load
from .spec import SessionPlan, SpecError, deep_merge

__all__ = ["Result", "build_converter", "is_complete", "run_session"]

#: metadata groups whose entries are keyed by the converter (a new key there is a typo)
KEYED_GROUPS = ("Ophys", "Behavior")

#: conversion options given to interfaces that write external videos (unless set)
VIDEO_DEFAULTS = {"overwrite_video": True}


@dataclass
class Result:
    """What happened to one session."""

    session: str
    output: str
    status: str  # "converted", "skipped" or "failed"
    seconds: float = 0.0
    error: str = ""
    traceback: str = ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, SpecError) else f"{type(exc).__name__}: {text}"


def build_converter(plan: SessionPlan) -> Any:
    """A neuroconv ``ConverterPipe`` of the session's interfaces (converters nest in it)."""
    from neuroconv import ConverterPipe

    objects = {}
    for name, reference in plan.interfaces.items():
        cls = load(reference)
        try:
            objects[name] = cls(**plan.source_data[name])
        except Exception as exc:
            raise SpecError(f"{plan.where()}: key source_data.{name}: {_one_line(exc)}") from exc
    return ConverterPipe(data_interfaces=objects)


def _children(converter: Any) -> dict[str, Any]:
    return getattr(converter, "data_interface_objects", {})


def _accepted(interface: Any) -> set[str]:
    return set(interface.get_conversion_options_schema().get("properties", {}))


def _is_imaging(interface: Any) -> bool:
    from neuroconv.datainterfaces.ophys.baseimagingextractorinterface import (
        BaseImagingExtractorInterface,
    )

    return isinstance(interface, BaseImagingExtractorInterface)


def _options_for(interface: Any, flat: dict[str, Any], used: set[str],
                 video: dict, progress: bool) -> dict:
    accepted = _accepted(interface)
    options = {key: value for key, value in flat.items() if key in accepted}
    used.update(options)
    if "nwbfile_folder" in accepted:
        for key, value in video.items():
            options.setdefault(key, value)
    if progress and "iterator_options" in accepted and _is_imaging(interface):
        options["iterator_options"] = {"display_progress": True,
                                       **(options.get("iterator_options") or {})}
    return options


def conversion_options(plan: SessionPlan, converter: Any, *,
                       progress: bool = False) -> dict[str, Any]:
    """Per-interface options: the flat global/experiment ones where taken, then the session's.

    A flat option goes to every interface (or interface of a nested converter) whose
    conversion-options schema has it; one that no interface takes is an error.
    ``progress``: imaging interfaces show a progress bar while their frames are written,
    unless the spec's ``iterator_options`` say otherwise.
    """
    out_path = Path(plan.nwbfile_path)
    video = {"nwbfile_folder": str(out_path.parent), "video_folder": f"{out_path.stem}_videos",
             **VIDEO_DEFAULTS}
    used: set[str] = set()
    options: dict[str, Any] = {}
    for name, interface in _children(converter).items():
        if _children(interface):
            options[name] = {child: _options_for(sub, plan.global_options, used, video,
                                                 progress)
                             for child, sub in _children(interface).items()}
        else:
            options[name] = _options_for(interface, plan.global_options, used, video, progress)
    unused = sorted(set(plan.global_options) - used)
    if unused:
        raise SpecError(f"{plan.where()}: key conversion_options.{unused[0]}: no interface "
                        "of the session takes this option")
    unknown = sorted(set(plan.session_options) - set(options))
    if unknown:
        raise SpecError(f"{plan.where()}: key conversion_options.{unknown[0]}: not an "
                        f"interface of the session ({', '.join(options)})")
    return deep_merge(options, plan.session_options)


def _check_keys(plan: SessionPlan, ours: dict, theirs: dict, path: str) -> None:
    for key, value in theirs.items():
        if key not in ours:
            raise SpecError(f"{plan.where()}: metadata key {path}.{key}: no such entry in this "
                            f"session (it has: {', '.join(map(str, ours)) or 'none'})")
        if isinstance(value, dict) and isinstance(ours[key], dict) and path.count(".") < 1:
            _check_keys(plan, ours[key], value, f"{path}.{key}")


def session_metadata(plan: SessionPlan, converter: Any) -> dict[str, Any]:
    """The files' metadata with the spec's over it, checked against the converter's schema."""
    import jsonschema

    found = converter.get_metadata()
    for group in KEYED_GROUPS:
        for registry, entries in (plan.metadata.get(group) or {}).items():
            if isinstance(entries, dict) and registry in found.get(group, {}):
                _check_keys(plan, found[group][registry], entries, f"{group}.{registry}")
    metadata = deep_merge(found, plan.metadata)
    try:
        converter.validate_metadata(metadata)
    except jsonschema.ValidationError as exc:
        key = ".".join(map(str, exc.absolute_path)) or "(top level)"
        raise SpecError(f"{plan.where()}: metadata key {key}: {exc.message}") from exc
    return metadata


def is_complete(path: str | Path) -> bool:
    """An NWB file exists under ``path`` and opens with pynwb."""
    if not Path(path).is_file():
        return False
    from pynwb import NWBHDF5IO

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBHDF5IO(str(path), "r") as io:
                io.read()
    except Exception:
        return False
    return True


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.stem}.incomplete.nwb")


def convert_session(plan: SessionPlan, progress: bool = False) -> None:
    """Convert ``plan`` (raises on failure; :func:`run_session` catches); ``progress``:
    show a progress bar while each movie is written."""
    converter = build_converter(plan)
    metadata = session_metadata(plan, converter)
    options = conversion_options(plan, converter, progress=progress)
    out = Path(plan.nwbfile_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = _temporary(out)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converter.run_conversion(nwbfile_path=str(partial), metadata=metadata,
                                     conversion_options=options, overwrite=True)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)


def run_session(plan: SessionPlan, overwrite: bool = False, progress: bool = False) -> Result:
    """Convert one session, or skip it if its output is complete; never raises."""
    start = time.perf_counter()
    result = Result(plan.label, plan.nwbfile_path, "converted")
    try:
        if not overwrite and is_complete(plan.nwbfile_path):
            result.status = "skipped"
        else:
            convert_session(plan, progress)
    except Exception as exc:
        result.status, result.error = "failed", _one_line(exc)
        result.traceback = traceback.format_exc()
        if not result.error.startswith(plan.spec):
            result.error = f"{plan.where()}: {result.error}"
    result.seconds = time.perf_counter() - start
    return result
