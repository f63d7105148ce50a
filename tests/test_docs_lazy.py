"""The Python examples of docs/lazy.md run, in order, in a folder holding the example session."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask.array")

from isxio.examples import make_example_session
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.movie import MovieFile, write_movie

DOC = Path(__file__).resolve().parents[1] / "docs" / "lazy.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def _write_series(folder: Path) -> np.ndarray:
    """``rec_000.isxd`` and ``rec_001.isxd``: 30 frames each, the second 2 s after the first."""
    frames = np.arange(60 * 16 * 20, dtype=np.uint16).reshape(60, 16, 20)
    start = 1_700_000_000
    for k in range(2):
        timing = TimingInfo(30, Ratio(50, 1000), Time(Ratio(start + k * (30 * 50 + 2000), 1000)))
        write_movie(folder / f"rec_00{k}.isxd", frames[30 * k:30 * (k + 1)], timing=timing,
                    spacing=SpacingInfo(16, 20))
    return frames


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lazy")
    make_example_session(folder, full=True)
    return folder, _write_series(folder)


def test_the_page_has_examples_of_each_section():
    text = "\n".join(BLOCKS)
    assert len(BLOCKS) >= 5
    for name in ("to_dask(", "LocalCluster", "open_series", "split_planes", "pickle"):
        assert name in text, name


def _run(index: int, namespace: dict) -> None:
    code = BLOCKS[index]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, f"{DOC} example {index + 1}", "exec"), namespace)


def _check_values(folder: Path, ns: dict, series_frames: np.ndarray) -> None:
    """What the examples computed, against values read independently of the page."""
    with MovieFile(folder / "example_movie.isxd") as movie:
        source = np.asarray(movie.data, dtype=np.float64)
        valid = movie.timing.valid_mask()
    assert np.array_equal(ns["stack"], source)
    assert np.array_equal(ns["corner"], source[:, :8, :8])
    expected_mean = source[valid].mean(axis=0)
    assert np.allclose(ns["mean_image"], expected_mean)
    with MovieFile(folder / "dff.isxd") as dff:
        expected = ((source - expected_mean) / expected_mean).astype(np.float32)
        expected[~valid] = 0  # invalid frames are not stored: they read as zeros
        assert np.allclose(dff.data[:], expected, atol=1e-6)
    assert np.array_equal(ns["first_frames"], series_frames[28:32])
    assert np.array_equal(ns["everything"].compute(), series_frames)
    assert ns["series"].gaps == pytest.approx([2.0])
    assert len(ns["plane_means"]) == 3 and ns["plane_means"][0].shape == (24, 32)


def test_examples_run_in_order(session, monkeypatch):
    """Each example runs after the ones before it (later ones use their names)."""
    pytest.importorskip("distributed")
    folder, series_frames = session
    monkeypatch.chdir(folder)
    namespace: dict = {}
    for index in range(len(BLOCKS)):
        try:
            _run(index, namespace)
        except Exception as exc:
            raise AssertionError(f"example {index + 1} of {DOC.name} failed") from exc
    _check_values(folder, namespace, series_frames)
