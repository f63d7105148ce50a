"""Test helpers shipped with isxio: writers of synthetic acquisition files.

See :mod:`isxio.testing.fixtures`.
"""

from .fixtures import *  # noqa: F403
from .fixtures import __all__  # noqa: F401
