"""The Python examples of docs/nwb.md run, in a folder holding the example session."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

pytest.importorskip("neuroconv")

from isxio.examples import make_example_session

DOC = Path(__file__).resolve().parents[1] / "docs" / "nwb.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_guide_has_examples():
    assert len(BLOCKS) >= 4


def test_guide_examples_run_in_order(tmp_path, monkeypatch):
    """Each example runs after the ones before it (later ones use their names)."""
    make_example_session(tmp_path, full=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, code in enumerate(BLOCKS):
            try:
                exec(compile(code, f"{DOC} example {index + 1}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"example {index + 1} of {DOC.name} failed") from exc
    assert (tmp_path / "session.nwb").is_file() and (tmp_path / "from_numpy.isxd").is_file()
