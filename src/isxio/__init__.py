"""isxio: pure-Python reading, writing and conversion of Inscopix data.

Two APIs share one core:

* ``isxio.open(path)`` returns a typed, lazy reader (``.data``, ``.timing``, ...).
* The isx-compatible facade (``isxio.Movie.read``, ``isxio.CellSet.write``,
  ``isxio.Timing``, ...): code written for isx runs with ``import isxio as isx``.
"""

from .api import open
from .compat import (
    CellSet,
    Duration,
    EventSet,
    GpioSet,
    Image,
    Movie,
    Spacing,
    Time,
    Timing,
    VesselSet,
)
from .errors import (
    IsxError,
    IsxFormatError,
    IsxFormatWarning,
    IsxIndexError,
    IsxTypeError,
    IsxUnsupportedError,
    IsxWriteError,
)
from .formats.common import Ratio, SpacingInfo, TimingInfo
from .formats.movie import MovieFile, MovieWriter, write_movie

__version__ = "0.1.0"

__all__ = [
    "CellSet",
    "Duration",
    "EventSet",
    "GpioSet",
    "Image",
    "IsxError",
    "IsxFormatError",
    "IsxFormatWarning",
    "IsxIndexError",
    "IsxTypeError",
    "IsxUnsupportedError",
    "IsxWriteError",
    "Movie",
    "MovieFile",
    "MovieWriter",
    "Ratio",
    "Spacing",
    "SpacingInfo",
    "Time",
    "Timing",
    "TimingInfo",
    "VesselSet",
    "__version__",
    "open",
    "write_movie",
]
