"""The isx-compatible facade: ``import isxio as isx`` runs code written for isx."""

from .core import Duration, Spacing, Time, Timing
from .movie import Image, Movie

__all__ = ["Duration", "Image", "Movie", "Spacing", "Time", "Timing"]
