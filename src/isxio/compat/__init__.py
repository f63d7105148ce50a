"""The isx-compatible facade: ``import isxio as isx`` runs code written for isx."""

from .core import Duration, Spacing, Time, Timing
from .movie import Image, Movie
from .sets import CellSet, EventSet, GpioSet, VesselSet

__all__ = ["CellSet", "Duration", "EventSet", "GpioSet", "Image", "Movie", "Spacing", "Time",
           "Timing", "VesselSet"]
