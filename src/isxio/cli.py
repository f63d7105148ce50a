"""Command-line interface: ``isxio demo``, ``isxio info FILE``."""

from __future__ import annotations

import argparse
import sys
import tempfile
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

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out) if args.out else Path(tmp)
        paths = make_example_session(folder, overwrite=True)
        print(f"example session written to {folder}")
        for path in paths.values():
            print("  " + _describe(path))
    return 0


def _info(args: argparse.Namespace) -> int:
    for name in args.files:
        print(_describe(Path(name)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="isxio", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write and read back a built-in example session")
    demo.add_argument("--out", help="folder to keep the example files in")
    demo.set_defaults(func=_demo)
    info = sub.add_parser("info", help="describe Inscopix files")
    info.add_argument("files", nargs="+")
    info.set_defaults(func=_info)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
