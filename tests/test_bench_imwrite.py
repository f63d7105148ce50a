"""``benchmarks/bench_imwrite.py --quick`` runs and reports every target (so it cannot rot)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_imwrite.py"
TARGETS = ["bin", "zarr", "zarr-raw", "h5", "tif", "isxd"]
NUMBER = r"[\d.,]+(?: \([\d.,]+–[\d.,]+\))?"


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_quick_mode_prints_a_row_per_target(tmp_path: Path) -> None:
    pytest.importorskip("zarr")
    pytest.importorskip("h5py")
    pytest.importorskip("tifffile")
    out = _run("--dir", str(tmp_path), "--isx-mb", "0", cwd=tmp_path)
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    for target in TARGETS:
        mine = [r for r in rows if r.startswith(f"| {target}:") or r.startswith(f"| {target} (")]
        assert len(mine) == 1, (target, out)
        cells = [c.strip() for c in mine[0].strip("|").split("|")]
        assert len(cells) == 9, mine[0]
        # imwrite MB/s, incl. fsync, ceiling MB/s, incl. fsync: numbers; RSS in MiB; ratio
        for cell in (cells[1], cells[2], cells[5], cells[6]):
            assert re.fullmatch(NUMBER, cell), (cell, mine[0])
            assert float(cell.split()[0].replace(",", "")) > 0
        assert re.fullmatch(r"[\d,]+ MiB", cells[3]) and re.fullmatch(r"[\d,]+ MiB", cells[7])
        assert float(cells[8]) > 0
    assert "write_movie" in out
    assert "DIFFERENT" not in out  # imwrite and its ceiling used the same chunks and codec
    # the movie is cached in --dir and reused by the next run; nothing else is left there
    assert [p.suffix for p in tmp_path.iterdir()] == [".isxd"]
    again = _run("--dir", str(tmp_path), "--isx-mb", "0", "--targets", "bin", cwd=tmp_path)
    assert "reused from" in again
    assert len([r for r in again.splitlines() if r.startswith("| bin:")]) == 1
