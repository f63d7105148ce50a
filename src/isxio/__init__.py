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
from .convert import convert_from_yaml
from .errors import (
    IsxError,
    IsxFormatError,
    IsxFormatWarning,
    IsxIndexError,
    IsxTypeError,
    IsxUnsupportedError,
    IsxWriteError,
)
from .export import (
    align_start_times,
    export_aligned_timestamps,
    export_cell_set_to_csv_tiff,
    export_event_set_to_csv,
    export_gpio_set_to_csv,
    export_gpio_to_isxd,
    export_isxd_image_to_tiff,
    export_movie_timestamps_to_csv,
    export_movie_to_hdf5,
    export_movie_to_mp4,
    export_movie_to_nwb,
    export_movie_to_tiff,
    export_movie_to_zarr,
    export_nvision_movie_tracking_frame_data_to_csv,
    export_nvision_movie_tracking_zone_data_to_csv,
    export_tiff_to_isxd_image,
    export_vessel_set_to_csv_tiff,
)
from .formats.common import Ratio, SpacingInfo, TimingInfo
from .formats.movie import MovieFile, MovieWriter, write_movie
from .imwrite import imwrite
from .rescue import RescueRefused, RescueReport, rescue

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
    "RescueRefused",
    "RescueReport",
    "Spacing",
    "SpacingInfo",
    "Time",
    "Timing",
    "TimingInfo",
    "VesselSet",
    "__version__",
    "align_start_times",
    "convert_from_yaml",
    "export_aligned_timestamps",
    "export_cell_set_to_csv_tiff",
    "export_event_set_to_csv",
    "export_gpio_set_to_csv",
    "export_gpio_to_isxd",
    "export_isxd_image_to_tiff",
    "export_movie_timestamps_to_csv",
    "export_movie_to_hdf5",
    "export_movie_to_mp4",
    "export_movie_to_nwb",
    "export_movie_to_tiff",
    "export_movie_to_zarr",
    "export_nvision_movie_tracking_frame_data_to_csv",
    "export_nvision_movie_tracking_zone_data_to_csv",
    "export_tiff_to_isxd_image",
    "export_vessel_set_to_csv_tiff",
    "imwrite",
    "open",
    "rescue",
    "write_movie",
]
