"""Exports of Inscopix data to common formats (CSV, TIFF, MP4, NWB, zarr, HDF5).

Functions with an ``isx`` counterpart keep its name and arguments and produce the same
output (see ``docs/exports.md`` for what is compared and the documented differences).
Optional libraries (tifffile, PyAV, pynwb, h5py, zarr, tqdm) are imported only when
an export that needs them runs.
"""

from .arrays import export_movie_to_hdf5, export_movie_to_zarr
from .nwb import export_movie_to_nwb
from .tiff import export_isxd_image_to_tiff, export_movie_to_tiff, export_tiff_to_isxd_image
from .timestamps import export_movie_timestamps_to_csv
from .video import export_movie_to_mp4

__all__ = [
    "export_isxd_image_to_tiff",
    "export_movie_timestamps_to_csv",
    "export_movie_to_hdf5",
    "export_movie_to_mp4",
    "export_movie_to_nwb",
    "export_movie_to_tiff",
    "export_movie_to_zarr",
    "export_tiff_to_isxd_image",
]
