"""The ```python examples of docs/index.md run, in a folder holding the example session."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from isxio.examples import make_example_session
from isxio.formats.common import Ratio, TimingInfo

INDEX = Path(__file__).resolve().parents[1] / "docs" / "index.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", INDEX.read_text(), flags=re.S)


BLOCKS = _python_blocks()


def test_every_getting_started_kind_has_an_example():
    text = "\n".join(BLOCKS)
    for name in ("recording.isxd", "example_cellset.isxd", "example_events.isxd",
                 "vessels.isxd", "example_behavior.isxb", "example.gpio", "example.imu"):
        assert name in text, name


def _names_for_placeholders(folder: Path) -> dict[str, object]:
    """What the writing example leaves to the reader: ``frames``, ``timing``, chunks."""
    frames = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    return {"frames": frames, "timing": TimingInfo(4, Ratio(50, 1000)),
            "source_chunks": [np.ones((2, 800, 1280), np.uint16)] * 2}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    paths = make_example_session(folder, full=True)
    shutil.copy(paths["movie"], folder / "recording.isxd")  # the name the movie example uses
    return folder


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_docs_index_example_runs(index, session, monkeypatch):
    code = BLOCKS[index]
    if ".isxb" in code:
        pytest.importorskip("av")
    monkeypatch.chdir(session)
    namespace = _names_for_placeholders(session)
    exec(compile(code, f"{INDEX}:block{index}", "exec"), namespace)
    if "write_movie(" in code:
        from isxio.formats.movie import MovieFile
        with MovieFile(session / "out.isxd") as out:
            assert np.array_equal(out.data[:], namespace["frames"])
        with MovieFile(session / "big.isxd") as big:
            assert big.shape == (4, 800, 1280) and int(big.data[3].max()) == 1
