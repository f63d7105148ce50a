"""The layers of the package import only downwards, and the core needs numpy alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "isxio"

# package-relative module prefixes a layer must not import
FORBIDDEN = {
    "formats": ("isxio.compat", "isxio.export", "isxio.planes", "isxio.series", "isxio.api",
                "isxio.cli", "isxio.acquisition", "isxio.examples", "isxio.testing"),
    "compat": ("isxio.export", "isxio.cli"),
}
OPTIONAL = ("av", "tifffile", "h5py", "zarr", "pynwb", "hdmf", "dask", "tqdm", "PIL",
            "roiextractors", "neuroconv", "yaml", "click", "jsonschema", "distributed",
            "matplotlib", "pydantic")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    package = ".".join(("isxio", *path.relative_to(SRC).parent.parts))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer):
    bad = []
    for path in (SRC / layer).rglob("*.py"):
        for name in _imports(path):
            if name.startswith(FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, bad


def test_core_import_needs_numpy_only():
    code = ("import sys, isxio, isxio.formats.movie, isxio.formats.cellset, "
            "isxio.formats.events, isxio.formats.vesselset, isxio.formats.isxb, "
            "isxio.formats.gpio, isxio.formats.imu, isxio.planes, isxio.series, isxio.export; "
            f"print([m for m in {OPTIONAL!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", f"optional libraries imported at import time: {out}"


def test_nwb_layer_never_imports_isx(tmp_path):
    """The extractors and interfaces read files themselves: isx is a test-only oracle."""
    pytest.importorskip("neuroconv")
    code = f"""
import sys
import numpy as np
from isxio.examples import make_example_session
paths = make_example_session({str(tmp_path)!r}, full=True)
from isxio.roiextractors import (InscopixEventsExtractor, InscopixImagingExtractor,
                                 InscopixSegmentationExtractor)
InscopixImagingExtractor(paths["movie"]).get_series(0, 2)
InscopixSegmentationExtractor(paths["cellset"]).get_traces()
InscopixEventsExtractor(paths["events"]).get_events()
from isxio.neuroconv import InscopixSessionConverter
InscopixSessionConverter({str(tmp_path)!r}).get_metadata()
print("isx" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out == "False"
