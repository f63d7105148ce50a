"""neuroconv interfaces and a session converter on isxio's readers (extra ``isxio[nwb]``).

Each interface is a neuroconv ``BaseDataInterface`` that works inside neuroconv's
``NWBConverter`` / ``ConverterPipe``; :class:`InscopixSessionConverter` turns every
Inscopix file of one session into one NWB file on one clock.  neuroconv is imported
when the first interface is used.
"""

from __future__ import annotations

from .._optional import lazy_exports, require

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


__getattr__, __dir__ = lazy_exports(
    __name__, _MODULES, first=lambda: require("neuroconv", "nwb", "isxio.neuroconv"))
