"""The README's Python examples run (on the built-in example session)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from isxio.examples import make_example_session

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_starts_with_the_two_setup_commands():
    lines = README.read_text().splitlines()
    block = lines[lines.index("```bash") + 1:lines.index("```bash") + 3]
    assert "python -m isxio demo" in block[0]
    assert "python -m pytest" in block[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest" in ci and '-e ".[test]" isx' in ci


@pytest.mark.parametrize("code", _python_blocks())
def test_readme_example_runs(code, tmp_path, monkeypatch):
    paths = make_example_session(tmp_path)
    monkeypatch.chdir(tmp_path)
    paths["movie"].rename(tmp_path / "recording.isxd")
    exec(compile(code, str(README), "exec"), {})
