"""Command-line interface: ``isxio demo [FOLDER]``, ``isxio info FILE``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _describe(path: Path) -> str:
    from .api import open as isx_open

    reader = isx_open(path)
    timing = getattr(reader, "timing", None)
    parts = [f"{path.name}: {type(reader).__name__}"]
    data = getattr(reader, "data", None)
    if data is not None:
        parts.append(f"data {tuple(data.shape)} {data.dtype}")
    for attr, label in (("num_cells", "cells"), ("num_vessels", "vessels"),
                        ("num_channels", "channels")):
        if hasattr(reader, attr):
            parts.append(f"{getattr(reader, attr)} {label}")
    if timing is not None:
        parts.append(f"{timing.num_samples} samples @ {timing.sampling_rate:.4g} Hz, "
                     f"{timing.num_samples - int(timing.valid_mask().sum())} invalid")
    return ", ".join(parts)


def _demo(args: argparse.Namespace) -> int:
    from .examples import make_example_session

    folder = Path(args.folder or args.out or "isxio-demo")
    nwb = _nwb_available()
    paths = make_example_session(folder, overwrite=True, full=nwb)
    print(f"example session written to {folder.absolute()}")
    for path in paths.values():
        print("  " + _describe(path))
    if not nwb:
        print("NWB conversion skipped: it needs pip install 'isxio[nwb]'")
        return 0
    return _demo_to_nwb(folder)


def _nwb_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("neuroconv", "nwbinspector", "av"))


#: what the demo, as the user of the example session, adds to the files' metadata
DEMO_METADATA = {"location": "CA1", "indicator": "GCaMP6f"}


def _demo_to_nwb(folder: Path) -> int:
    """Convert the example session with the session converter and check it."""
    import warnings

    import nwbinspector

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
    bad = {nwbinspector.Importance.CRITICAL, nwbinspector.Importance.BEST_PRACTICE_VIOLATION}
    problems = [m for config in (None, nwbinspector.load_config("dandi"))
                for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(out), config=config)
                if m.importance in bad]
    for message in problems:
        print(f"  {message.importance.name}: {message.check_function_name}: {message.message}")
    print("nwbinspector (default and DANDI configurations): "
          + ("no critical issue, no best-practice violation" if not problems
             else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


def _info(args: argparse.Namespace) -> int:
    for name in args.files:
        print(_describe(Path(name)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="isxio", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write a built-in example session and convert it to "
                                       "NWB (with the nwb extra)")
    demo.add_argument("folder", nargs="?", help="folder for the example session and the NWB "
                                                "file (default: ./isxio-demo)")
    demo.add_argument("--out", help="the same as FOLDER")
    demo.set_defaults(func=_demo)
    info = sub.add_parser("info", help="describe Inscopix files")
    info.add_argument("files", nargs="+")
    info.set_defaults(func=_info)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
