"""Conversion to NWB from YAML specifications, folders and files (extra ``isxio[nwb]``).

:func:`convert_from_yaml` runs a neuroconv-style YAML specification with isxio's
interfaces (and neuroconv's, and registered ones); many sessions run in parallel on
Dask.  See ``docs/cli.md``.  Nothing heavy is imported until a conversion runs.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["convert_from_yaml"]


def convert_from_yaml(specification_file_path: str | os.PathLike[str], *,
                      data_folder_path: str | os.PathLike[str] | None = None,
                      output_folder_path: str | os.PathLike[str] | None = None,
                      overwrite: bool = False, allow_import: bool = False,
                      scheduler: str | None = None, workers: int | None = None,
                      parallel: bool | None = None) -> list[Any]:
    """Convert every session of a YAML specification; return one result per session.

    Parameters
    ----------
    specification_file_path
        The ``.yml`` file (neuroconv's specification format).
    data_folder_path, output_folder_path
        Where relative source paths start, and where NWB files go (default: the
        specification's folder).
    overwrite
        Redo sessions whose NWB file is already complete (otherwise they are skipped).
    allow_import
        Allow ``package.module:Class`` interface names (code named by the file).
    scheduler, workers, parallel
        See :func:`isxio.convert.runner.run_plans`.

    Returns
    -------
    list of isxio.convert.session.Result
        ``session``, ``output``, ``status`` (``converted``/``skipped``/``failed``),
        ``seconds``, ``error``.  A failed session does not raise: check the statuses.

    Raises
    ------
    isxio.convert.spec.SpecError
        The specification itself is wrong (before any session is converted).
    """
    from .runner import run_plans
    from .spec import plan_sessions

    plans = plan_sessions(specification_file_path, data_folder_path=data_folder_path,
                          output_folder_path=output_folder_path, allow_import=allow_import)
    return run_plans(plans, overwrite=overwrite, scheduler=scheduler, workers=workers,
                     parallel=parallel)
