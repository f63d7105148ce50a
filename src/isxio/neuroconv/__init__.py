"""neuroconv interfaces and a session converter on isxio's readers (extra ``isxio[nwb]``).

Each interface is a neuroconv ``BaseDataInterface`` that works inside neuroconv's
``NWBConverter`` / ``ConverterPipe``; :class:`InscopixSessionConverter` turns every
Inscopix file of one session into one NWB file on one clock.  neuroconv is imported
when the first interface is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from .._optional import require

# public name -> submodule defining it
_MODULES = {
    "InscopixImagingInterface": "imaging",
    "InscopixSegmentationInterface": "segmentation",
    "InscopixEventsInterface": "events",
    "InscopixBehaviorVideoInterface": "video",
    "InscopixGpioInterface": "gpio",
    "InscopixImuInterface": "imu",
    "InscopixSessionConverter": "session",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    require("neuroconv", "nwb", "isxio.neuroconv")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
