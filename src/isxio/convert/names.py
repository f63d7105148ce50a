"""Interface names of a specification -> classes.

Looked up in this order: isxio's interfaces (and ``InscopixSession``, the session
converter), neuroconv's built-in interfaces, classes registered by installed packages
under the entry-point group ``isxio.interfaces``; last, a ``package.module:Class``
name, but only when importing code named by the specification is allowed.  Names are
resolved to references (plain strings) first and loaded later, in the process that
converts the session.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from typing import Any

__all__ = ["ENTRY_POINT_GROUP", "ISXIO_NAMES", "load", "resolve"]

#: entry-point group under which other packages register interfaces for specifications
ENTRY_POINT_GROUP = "isxio.interfaces"

#: name in a specification -> name in isxio.neuroconv
ISXIO_NAMES = {
    "InscopixSession": "InscopixSessionConverter",
    "InscopixSessionConverter": "InscopixSessionConverter",
    "InscopixImagingInterface": "InscopixImagingInterface",
    "InscopixSegmentationInterface": "InscopixSegmentationInterface",
    "InscopixEventsInterface": "InscopixEventsInterface",
    "InscopixBehaviorVideoInterface": "InscopixBehaviorVideoInterface",
    "InscopixGpioInterface": "InscopixGpioInterface",
    "InscopixImuInterface": "InscopixImuInterface",
}

_DOTTED = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def _neuroconv_names() -> set[str]:
    module = importlib.import_module("neuroconv.datainterfaces")
    return {name for name in dir(module)
            if name[:1].isupper() and isinstance(getattr(module, name), type)}


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def resolve(name: Any, *, allow_import: bool = False, where: str = "") -> str:
    """The reference (``"isxio:X"``, ``"neuroconv:X"``, ``"entry_point:X"``, ``"import:m:X"``).

    Raises
    ------
    ValueError
        Unknown name, or a ``package.module:Class`` name without ``allow_import`` (refused
        before anything is imported).
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{prefix}an interface name is a string, not {name!r}")
    if name in ISXIO_NAMES:
        return f"isxio:{ISXIO_NAMES[name]}"
    if ":" in name or "." in name:
        if not _DOTTED.match(name):
            raise ValueError(f"{prefix}{name!r} is not of the form package.module:Class")
        if not allow_import:
            raise ValueError(f"{prefix}{name!r} names code to import; refused without "
                             "--allow-import (allow_import=True)")
        return f"import:{name}"
    if name in _neuroconv_names():
        return f"neuroconv:{name}"
    if name in _entry_points():
        return f"entry_point:{name}"
    raise ValueError(f"{prefix}unknown interface {name!r}: not one of isxio's "
                     f"({', '.join(sorted(ISXIO_NAMES))}), neuroconv's, or registered under "
                     f"the entry-point group {ENTRY_POINT_GROUP!r}")


def load(reference: str) -> type:
    """The class a :func:`resolve` reference names."""
    kind, _, name = reference.partition(":")
    if kind == "isxio":
        from .. import neuroconv as isxio_neuroconv

        return getattr(isxio_neuroconv, name)
    if kind == "neuroconv":
        return getattr(importlib.import_module("neuroconv.datainterfaces"), name)
    if kind == "entry_point":
        return _entry_points()[name].load()
    if kind == "import":
        module, _, attribute = name.partition(":")
        return getattr(importlib.import_module(module), attribute)
    raise ValueError(f"not an interface reference: {reference!r}")
