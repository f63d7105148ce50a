"""GPIO acquisition files: nVista 3 / nVoke 2 ``.gpio``, nVoke 1 ``.raw``, nVista 2 ``.hdf5``.

Spec ``other.md`` §2.  Inscopix software never reads these files directly: it
*converts* them into an event-based ``.isxd`` (channel index, µs offset, float32
value per packet) and reads that.  :class:`GpioFile` performs the same conversion
in memory, vectorised, and presents the result the way ``isx.GpioSet`` does:
the same channel names and order, the same values, the same timing.

One module per file variant does the conversion: :mod:`~isxio.formats.gpio_nvista3`
(``.gpio``, with :mod:`~isxio.formats.gpio_session` for its session JSON),
:mod:`~isxio.formats.gpio_nvoke1` (nVoke 1 ``.raw``) and
:mod:`~isxio.formats.gpio_nvista2` (nVista 2 ``.hdf5``); the result is a
:class:`~isxio.formats.gpiodata.GpioData`, shared with :mod:`~isxio.formats.imu`.

Offsets and the ``exact`` option
--------------------------------
isx returns each sample's offset after a round trip through doubles
(``int((o / 1e6) * 1e6)``), so about 2 % of offsets come back 1 µs low
(251 µs -> 250 µs), while isx's own CSV export prints the exact value.
``channel_data`` reproduces isx by default (``exact=False``): isxio is a drop-in
replacement, and code ported from isx must see the numbers it saw before.  Pass
``exact=True`` (to the constructor or per call) to get the offsets as stored in the
converted event file, i.e. the true TSC differences for ``.gpio`` files.  Value
conversions that are part of the acquisition format itself (16-count floor of BNC
analog inputs, LED powers in float32 mW, IMU g units) are always applied, as isx
does; the raw counts are not recoverable from isx either.

Damaged files
-------------
isx skips unknown event types, packets whose size does not match their type and
stray words between packets.  isxio does the same and reports them with one
:class:`~isxio.errors.IsxFormatWarning` naming the file and the first byte offset;
``strict=True`` raises :class:`~isxio.errors.IsxFormatError` instead.  A packet cut
short by the end of the file (a torn acquisition) is dropped with a warning; every
complete packet before it is kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .._io import as_source, url_extension
from ..errors import IsxFormatError, IsxUnsupportedError
from ._isxratio import r_add as r_add
from .events_packets import PACKET_DTYPE
from .gpio_nvista2 import read_nvista2
from .gpio_nvista3 import GPIO_CHANNEL_NAMES, read_nvista3
from .gpio_nvoke1 import read_nvoke1
from .gpio_session import CLOSED_LOOP_FORMAT
from .gpiodata import GpioData
from .gpiodata import isx_offsets as isx_offsets
from .gpiodata import parse_json_stream as parse_json_stream
from .imu import ImuFile

__all__ = [
    "CLOSED_LOOP_FORMAT",
    "GPIO_CHANNEL_NAMES",
    "PACKET_DTYPE",
    "GpioData",
    "GpioFile",
    "read_gpio",
]

#: File extension -> the variant's reader (returns the GpioData arguments).
_READERS: dict[str, Callable[[str, bool], dict[str, Any]]] = {
    ".gpio": read_nvista3,
    ".raw": read_nvoke1,
    ".hdf5": read_nvista2,
}


class GpioFile(GpioData):
    """A ``.gpio`` (nVista 3 / nVoke 2, incl. closed-loop), ``.raw`` (nVoke 1) or
    ``.hdf5`` (nVista 2, needs h5py) GPIO file.

    Opening parses the whole event stream (vectorised) and converts it exactly as
    isxcore does; see the module docstring for ``exact`` and ``strict``.

    Parameters
    ----------
    path
        The file; the extension selects the format (``.gpio``, ``.raw``, ``.hdf5``).
    exact
        Default for :meth:`channel_data`: False = offsets as isx returns them.
    strict
        Raise :class:`~isxio.errors.IsxFormatError` on anything isx would skip.
    """

    def __init__(self, path: str | os.PathLike[str], *, exact: bool = False,
                 strict: bool = False) -> None:
        self.source = source = as_source(path)
        path = source.name
        ext = url_extension(path)
        if ext not in _READERS:
            raise IsxFormatError(path, "unsupported GPIO file extension",
                                 expected="'.gpio', '.raw' or '.hdf5'", found=repr(ext))
        if source.is_local:
            parts = _READERS[ext](path, strict)  # called here: warnings point at the caller
        elif ext == ".hdf5":
            raise IsxUnsupportedError(path, "nVista 2 .hdf5 GPIO files are read from local "
                                      "paths only; download the file first")
        else:  # remote: the event stream is scanned end to end, so read it whole
            parts = _READERS[ext](path, strict, source.read(0, source.size))
        super().__init__(path, exact=exact, **parts)
        self.strict = strict

    def __reduce__(self):
        where = self.path if self.source.is_local else self.source
        return (_reopen, (type(self), where, self.exact, self.strict))


def _reopen(cls: type, path: Any, exact: bool, strict: bool) -> GpioData:
    return cls(path, exact=exact, strict=strict)


def read_gpio(path: str | os.PathLike[str], *, exact: bool = False,
              strict: bool = False) -> GpioData:
    """Read a ``.gpio``, ``.raw``, ``.hdf5`` or ``.imu`` file (dispatch on the extension)."""
    if url_extension(as_source(path).name) == ".imu":
        return ImuFile(path, exact=exact, strict=strict)
    return GpioFile(path, exact=exact, strict=strict)
