"""Reading a YAML conversion specification into one plan per session.

The file follows neuroconv's specification schema (``metadata``, ``conversion_options``,
``data_interfaces``, ``experiments`` -> ``sessions`` with ``nwbfile_name``,
``source_data``, ``metadata``, ``conversion_options``), checked with neuroconv's own
schema file, except that metadata may be neuroconv 0.10's dict format (it is checked
later, per session, against the converter's own metadata schema).  Nothing is imported
or read here but the YAML file: plans are plain data, so they travel to Dask workers.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .names import resolve

__all__ = ["SessionPlan", "SpecError", "deep_merge", "load_spec", "plan_sessions"]

#: source_data keys whose values are paths, relative to the data folder
PATH_KEYS = ("file_path", "folder_path", "file_paths")


class SpecError(ValueError):
    """A conversion specification is wrong; the message names the file, session and key."""


@dataclass(frozen=True)
class SessionPlan:
    """Everything needed to convert one session (plain data: it pickles).

    ``interfaces`` maps each ``source_data`` name to a class reference from
    :func:`isxio.convert.names.resolve`; ``metadata`` is the spec's metadata merged
    global < experiment < session; ``global_options`` the flat conversion options of
    the file and the experiment; ``session_options`` the session's, keyed by name.
    """

    spec: str
    experiment: str
    index: int
    nwbfile_path: str
    interfaces: dict[str, str]
    source_data: dict[str, dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)
    global_options: dict[str, Any] = field(default_factory=dict)
    session_options: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``experiment/N`` (N counts from 1), as in messages and the summary."""
        return f"{self.experiment}/{self.index}"

    def where(self) -> str:
        """The prefix of every message about this session."""
        return f"{self.spec}: session {self.label} ({Path(self.nwbfile_path).name})"


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``: mappings merge key by key; anything else, lists too, is replaced.

    Lists are replaced, not appended: a session's ``experimenter`` or ``keywords`` list is
    the whole list for that session (appending would duplicate the global entries and
    break lists with a meaning by position, such as ``origin_coords``).
    """
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a specification file (YAML or JSON) against neuroconv's schema."""
    from .._optional import require

    yaml = require("yaml", "cli", "reading YAML conversion specifications")
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the specification: {exc.strerror}") from exc
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from exc
    if not isinstance(spec, dict):
        raise SpecError(f"{path}: a specification is a mapping with 'experiments', "
                        f"not {type(spec).__name__}")
    _check_schema(path, spec)
    if "upload_to_dandiset" in spec:
        raise SpecError(f"{path}: key 'upload_to_dandiset': uploading is not done by isxio; "
                        "convert, then use the dandi client")
    return spec


def _spec_schema() -> dict[str, Any]:
    """neuroconv's specification schema, with metadata any mapping (checked per session)."""
    found = importlib.util.find_spec("neuroconv")
    if found is None or not found.submodule_search_locations:
        from .._optional import require

        require("neuroconv", "nwb", "YAML conversion")
    folder = Path(next(iter(found.submodule_search_locations)))  # type: ignore[union-attr]
    text = (folder / "schemas" / "yaml_conversion_specification_schema.json").read_text()
    text = text.replace('{"$ref": "./metadata_schema.json#"}', '{"type": "object"}')
    return json.loads(text)


def _key_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _check_schema(path: Path, spec: dict[str, Any]) -> None:
    import jsonschema

    errors = sorted(jsonschema.Draft7Validator(_spec_schema()).iter_errors(_jsonable(spec)),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        raise SpecError(f"{path}: key {_key_path(first.absolute_path)}: {first.message}")


def _jsonable(value: Any) -> Any:
    """YAML dates and times as strings, for the JSON schema."""
    return json.loads(json.dumps(value, default=str))


def plan_sessions(spec_path: str | os.PathLike[str], *,
                  data_folder_path: str | os.PathLike[str] | None = None,
                  output_folder_path: str | os.PathLike[str] | None = None,
                  allow_import: bool = False) -> list[SessionPlan]:
    """One :class:`SessionPlan` per session of the specification, in file order.

    Every interface name is resolved (and ``package.module:Class`` names refused unless
    ``allow_import``) before anything is imported or converted.
    """
    spec_path = Path(spec_path)
    spec = load_spec(spec_path)
    data = Path(data_folder_path) if data_folder_path else spec_path.parent
    out = Path(output_folder_path) if output_folder_path else spec_path.parent
    names = spec.get("data_interfaces") or {}
    plans: list[SessionPlan] = []
    for experiment, block in spec["experiments"].items():
        for index, session in enumerate(block["sessions"], start=1):
            where = f"{spec_path}: session {experiment}/{index}"
            interfaces = {name: _resolve(names.get(name, name), allow_import,
                                         f"{where}: source_data.{name}")
                          for name in session["source_data"]}
            metadata = deep_merge(deep_merge(spec.get("metadata") or {},
                                             block.get("metadata") or {}),
                                  session.get("metadata") or {})
            plans.append(SessionPlan(
                spec=str(spec_path), experiment=str(experiment), index=index,
                nwbfile_path=str(out / _nwbfile_name(session, metadata, experiment, index)),
                interfaces=interfaces,
                source_data=_with_paths(session["source_data"], data, where),
                metadata=metadata,
                global_options=deep_merge(spec.get("conversion_options") or {},
                                          block.get("conversion_options") or {}),
                session_options=session.get("conversion_options") or {}))
    _check_unique_outputs(spec_path, plans)
    return plans


def _resolve(name: Any, allow_import: bool, where: str) -> str:
    try:
        return resolve(name, allow_import=allow_import, where=where)
    except ValueError as exc:
        raise SpecError(str(exc)) from None


def _nwbfile_name(session: dict, metadata: dict, experiment: str, index: int) -> str:
    """The session's ``nwbfile_name``, else its ``session_id``, else ``EXPERIMENT-N``."""
    name = session.get("nwbfile_name") or metadata.get("NWBFile", {}).get("session_id") \
        or f"{experiment}-{index}"
    name = str(name)
    return name if name.endswith(".nwb") else name + ".nwb"


def _with_paths(source_data: dict, data: Path, where: str) -> dict[str, dict[str, Any]]:
    """``file_path``, ``folder_path`` and ``file_paths`` made absolute (from the data folder)."""
    out: dict[str, dict[str, Any]] = {}
    for name, arguments in source_data.items():
        if not isinstance(arguments, dict):
            raise SpecError(f"{where}: key source_data.{name}: the arguments of the "
                            f"interface, a mapping, not {arguments!r}")
        arguments = dict(arguments)
        for key in PATH_KEYS:
            if key in arguments:
                value = arguments[key]
                arguments[key] = ([str(data / v) for v in value] if key == "file_paths"
                                  else str(data / value))
        out[name] = arguments
    return out


def _check_unique_outputs(spec_path: Path, plans: list[SessionPlan]) -> None:
    seen: dict[str, str] = {}
    for plan in plans:
        if plan.nwbfile_path in seen:
            raise SpecError(f"{spec_path}: sessions {seen[plan.nwbfile_path]} and {plan.label} "
                            f"both write {plan.nwbfile_path}: give each an nwbfile_name")
        seen[plan.nwbfile_path] = plan.label
