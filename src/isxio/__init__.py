"""isxio: pure-Python reading, writing and conversion of Inscopix data."""

__version__ = "0.1.0"
