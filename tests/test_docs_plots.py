"""benchmarks/results.json, the tables of docs/benchmarks.md and the plots of both agree.

results.json must hold exactly the figures of the read/write table, of every NWB
conversion table and of the imwrite table (parsed from the markdown here);
benchmarks/plot_results.py must draw each of them, and the images docs/benchmarks.md shows
must carry the same values.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
RESULTS = REPO / "benchmarks" / "results.json"
SCRIPT = REPO / "benchmarks" / "plot_results.py"
NWB_HEADER = ("conversion", "MB/s", "MB/s incl. fsync", "peak RSS")
IMWRITE_HEADER = ("target", "imwrite MB/s")
IMWRITE_PLOTTED = ("imwrite MB/s", "peak RSS", "ceiling MB/s", "ceiling peak RSS")
_SEPARATOR = re.compile(r"^\|[-:| ]+\|\s*$")
_NUMBER = re.compile(r"^([\d,]+(?:\.\d+)?)\s*(.*)$")
_RANGE = re.compile(r"^\(([\d,]+(?:\.\d+)?)–([\d,]+(?:\.\d+)?)\)$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_tables(text: str) -> list[dict]:
    """Every pipe table: its header, rows and whether it precedes the first ``##`` heading."""
    lines, tables, top, i = text.splitlines(), [], True, 0
    while i < len(lines):
        top = top and not lines[i].startswith("## ")
        if lines[i].startswith("|") and i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1]):
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            tables.append({"header": _cells(lines[i]), "top": top,
                           "rows": [_cells(line) for line in lines[i + 2:j]]})
            i = j
        else:
            i += 1
    return tables


def number(cell: str) -> tuple[float, str, str]:
    """``"2,483 MB/s"`` -> ``(2483, "MB/s", "2,483")``."""
    match = _NUMBER.match(cell)
    assert match, f"not a number: {cell!r}"
    return float(match[1].replace(",", "")), match[2], match[1]


def ranged(cell: str) -> tuple[list[float] | float, str]:
    """``"542 (506–1,338)"`` -> ``([542, 506, 1338], "")``; ``"283 MiB"`` -> ``(283, "MiB")``."""
    value, rest, _ = number(cell)
    match = _RANGE.match(rest)
    if match:
        return [value, *(float(m.replace(",", "")) for m in match.groups())], ""
    return value, rest


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads(RESULTS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tables() -> list[dict]:
    return markdown_tables(DOC.read_text(encoding="utf-8"))


def _find(tables: list[dict], labels: list[str]) -> dict:
    found = [t for t in tables if [r[0] for r in t["rows"]] == labels]
    assert len(found) == 1, f"no single table of docs/benchmarks.md has the rows {labels}"
    return found[0]


def test_read_table_matches(results, tables):
    rows = results["read"]["rows"]
    table = _find(tables, [r["measurement"] for r in rows])
    assert table["top"] and table["header"][:2] == ["measurement", "result"]
    for row, cells in zip(rows, table["rows"], strict=True):
        value, unit, _ = number(cells[1])
        assert (row["value"], row["unit"]) == (value, unit), cells[0]


def test_nwb_tables_match(results, tables):
    for run in results["nwb"]:
        table = _find(tables, [r["conversion"] for r in run["rows"]])
        columns = table["header"][1:]
        assert list(run["units"]) == columns, run["run"]
        for row, cells in zip(run["rows"], table["rows"], strict=True):
            for column, cell in zip(columns, cells[1:], strict=True):
                value, unit, _ = number(cell)
                assert (row[column], run["units"][column]) == (value, unit), \
                    f"{run['run']}: {cells[0]}: {column}"


def test_imwrite_table_matches(results, tables):
    """Values as [median, min, max] where the doc gives a range; the text column verbatim."""
    run = results["imwrite"]
    table = _find(tables, [r["target"] for r in run["rows"]])
    assert table["header"] == run["header"] and len(run["units"]) == len(run["header"]) - 1
    for row, cells in zip(run["rows"], table["rows"], strict=True):
        for (key, unit), cell in zip(run["units"].items(), cells[1:], strict=True):
            if unit is None:
                assert row[key] == cell, f"{cells[0]}: {key}"
                continue
            value, printed = ranged(cell)  # MB/s and ratios print no unit
            assert row[key] == value and printed in ("", unit), f"{cells[0]}: {key}"


def test_every_recorded_table_is_in_results(results, tables):
    """A new NWB run, imwrite row or read-table row in the doc needs results.json updated."""
    read_rows = [r["measurement"] for r in results["read"]["rows"]]
    imwrite_rows = [r["target"] for r in results["imwrite"]["rows"]]
    nwb_rows = [[r["conversion"] for r in run["rows"]] for run in results["nwb"]]
    for table in tables:
        labels = [r[0] for r in table["rows"]]
        if tuple(table["header"][:4]) == NWB_HEADER:
            assert labels in nwb_rows, f"NWB table missing from results.json: {labels}"
        elif tuple(table["header"][:2]) == IMWRITE_HEADER:
            assert labels == imwrite_rows, f"imwrite table differs from results.json: {labels}"
        elif table["top"]:
            assert labels == read_rows, f"read table differs from results.json: {labels}"


def _svg_texts(path: Path) -> set[str]:
    root = ET.parse(path).getroot()  # also checks it is well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg", path
    return {"".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")}


def _expected_labels(results: dict, tables: list[dict]) -> dict[str, set[str]]:
    """Image name -> the value texts its bars must show: the doc's own number texts."""
    read = _find(tables, [r["measurement"] for r in results["read"]["rows"]])
    out = {results["read"]["image"]: {number(cells[1])[2] for cells in read["rows"]}}
    for run in results["nwb"]:
        table = _find(tables, [r["conversion"] for r in run["rows"]])
        columns = table["header"]
        plotted = [columns.index(c) for c in ("MB/s", "MB/s incl. fsync", "peak RSS")]
        out[run["image"]] = {number(cells[k])[2] for cells in table["rows"] for k in plotted}
    imwrite = _find(tables, [r["target"] for r in results["imwrite"]["rows"]])
    plotted = [imwrite["header"].index(c) for c in IMWRITE_PLOTTED]
    out[results["imwrite"]["image"]] = {number(cells[k])[2] for cells in imwrite["rows"]
                                        for k in plotted}
    return out


def test_plot_script_draws_every_value(results, tables, tmp_path):
    pytest.importorskip("matplotlib")
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "img")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    expected = _expected_labels(results, tables)
    assert sorted(p.name for p in (tmp_path / "img").iterdir()) == sorted(expected)
    for name, labels in expected.items():
        path = tmp_path / "img" / name
        assert path.stat().st_size < 100_000, f"{name}: SVG is not small"
        missing = labels - _svg_texts(path)
        assert not missing, f"{name} does not show {sorted(missing)}"


def test_docs_show_current_images(results, tables):
    """The committed SVGs are embedded in benchmarks.md and show the doc's values."""
    text = DOC.read_text(encoding="utf-8")
    for name, labels in _expected_labels(results, tables).items():
        assert f"](img/{name})" in text, f"docs/benchmarks.md does not show img/{name}"
        missing = labels - _svg_texts(REPO / "docs" / "img" / name)
        assert not missing, (f"docs/img/{name} is stale (run benchmarks/plot_results.py): "
                             f"it does not show {sorted(missing)}")
