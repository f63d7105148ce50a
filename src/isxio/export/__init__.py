"""Exports of Inscopix data to common formats (CSV, TIFF, MP4, NWB, zarr, HDF5).

Functions with an ``isx`` counterpart keep its name and arguments and produce the same
output (see ``docs/exports.md`` for what is compared and the documented differences).
Optional libraries (tifffile, PyAV, pynwb, h5py, zarr, tqdm) are imported only when
an export that needs them runs.
"""

from .align import align_start_times, export_aligned_timestamps
from .arrays import export_movie_to_hdf5, export_movie_to_zarr
from .cells import export_cell_set_to_csv_tiff, export_vessel_set_to_csv_tiff
from .nvision import (
    export_nvision_movie_tracking_frame_data_to_csv,
    export_nvision_movie_tracking_zone_data_to_csv,
)
from .nwb import export_movie_to_nwb
from .sets import export_event_set_to_csv, export_gpio_set_to_csv, export_gpio_to_isxd
from .tiff import export_isxd_image_to_tiff, export_movie_to_tiff, export_tiff_to_isxd_image
from .timestamps import export_movie_timestamps_to_csv
from .video import export_movie_to_mp4

__all__ = [
    "align_start_times",
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
]
