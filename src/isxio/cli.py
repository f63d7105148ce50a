"""Command line: ``isxio demo|info|convert|export|validate|preview`` (click; extra ``isxio[cli]``).

Errors print one line naming the file (the whole traceback with ``--debug``); the exit
code is non-zero when anything failed.  See ``docs/cli.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _describe(path: Path) -> str:
    from .commands.info import describe, one_line

    return one_line(describe(path))


def _nwb_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("neuroconv", "nwbinspector", "av"))


#: what the demo, as the user of the example session, adds to the files' metadata
DEMO_METADATA = {"location": "CA1", "indicator": "GCaMP6f"}


def _demo(folder: str | None, out: str | None) -> int:
    from .examples import make_example_session

    folder_path = Path(folder or out or "isxio-demo")
    nwb = _nwb_available()
    paths = make_example_session(folder_path, overwrite=True, full=nwb)
    print(f"example session written to {folder_path.absolute()}")
    for path in paths.values():
        print("  " + _describe(path))
    if not nwb:
        print("NWB conversion skipped: it needs pip install 'isxio[nwb]'")
        return 0
    return _demo_to_nwb(folder_path)


def _demo_to_nwb(folder: Path) -> int:
    """Convert the example session with the session converter and check it."""
    import warnings

    from .neuroconv import InscopixSessionConverter

    converter = InscopixSessionConverter(folder)
    print(converter.summary())
    metadata = converter.get_metadata()
    for plane in metadata["Ophys"]["ImagingPlanes"].values():
        plane.update(DEMO_METADATA)
    out = folder / "example_session.nwb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter.run_conversion(nwbfile_path=str(out), metadata=metadata, overwrite=True)
    print(f"NWB file written to {out.absolute()}")
    problems = _inspect(out)
    print("nwbinspector (default and DANDI configurations): "
          + ("no critical issue, no best-practice violation" if not problems
             else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


def _inspect(path: Path) -> list[Any]:
    """nwbinspector's critical issues and best-practice violations (default and DANDI)."""
    import nwbinspector

    bad = {nwbinspector.Importance.CRITICAL, nwbinspector.Importance.BEST_PRACTICE_VIOLATION}
    problems = [m for config in (None, nwbinspector.load_config("dandi"))
                for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(path), config=config)
                if m.importance in bad]
    for message in problems:
        print(f"  {message.importance.name}: {message.check_function_name}: {message.message}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    try:
        import click
    except ImportError:
        print("isxio: the command line needs click: pip install 'isxio[cli]'", file=sys.stderr)
        return 2
    from ._cli import build

    try:
        code = build(sys.modules[__name__]).main(
            args=list(argv) if argv is not None else None, prog_name="isxio",
            standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        print("isxio: aborted", file=sys.stderr)
        return 1
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
