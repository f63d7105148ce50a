"""Bar charts of the recorded benchmark results (benchmarks/results.json) as SVG.

    python benchmarks/plot_results.py                 # writes docs/img/bench_*.svg
    python benchmarks/plot_results.py --out /tmp/img  # elsewhere

results.json holds the figures of the tables of docs/benchmarks.md (a test checks that
the two agree); this draws them, one image per table, each bar labelled with its value.
Text stays text in the SVG (small files, values searchable) and the output does not
depend on the date, so an unchanged results.json gives unchanged images.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
OUT = HERE.parent / "docs" / "img"

#: Panels of the read/write figure: (title, measurement prefix, log scale).
READ_PANELS = [
    ("Read every frame (MB/s)", "read all frames, ", False),
    ("Random frame access (frames/s)", "random frame access, ", False),
    ("Write (MB/s, incl. fsync; log scale)", "write", True),
    ("Open a movie (µs, median)", "open ", False),
    ("Peak heap (MB, tracemalloc)", "peak heap, ", False),
]
#: Bar colour by the code measured: the first key found in the label, else isxio's blue.
COLOURS = [("numpy", "#7f7f7f"), ("isx ", "#d62728"), ("isx.", "#d62728"),
           ("isx-backed", "#d62728")]
ISXIO_COLOUR = "#1f77b4"
STYLE = {"svg.fonttype": "none", "svg.hashsalt": "isxio-benchmarks", "font.size": 9,
         "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Arial"]}


def fmt(value: float, spec: str | None = None) -> str:
    """A value as the tables print it: thousands separators, decimals kept."""
    if spec:
        return format(value, spec)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.10g}"


def _colour(label: str) -> str:
    return next((c for key, c in COLOURS if key in label), ISXIO_COLOUR)


def _bars(ax: Any, labels: list[str], values: list[float], *, title: str,
          log: bool = False, offset: float = 0.0, height: float = 0.7,
          colours: list[str] | None = None, alpha: float = 1.0,
          spec: str | None = None, ranges: list[list[float]] | None = None) -> None:
    """Horizontal bars, top to bottom in table order, each with its value at its end.

    ``ranges``: each bar's ``[min, max]``, drawn as a whisker (the value goes past it).
    """
    y = [len(labels) - 1 - k + offset for k in range(len(labels))]
    whisker = {} if ranges is None else {
        "xerr": [[v - lo for v, (lo, _) in zip(values, ranges, strict=True)],
                 [hi - v for v, (_, hi) in zip(values, ranges, strict=True)]],
        "error_kw": {"elinewidth": 0.8, "capsize": 2, "ecolor": "#444444"}}
    ax.barh(y, values, height=height, color=colours or [_colour(s) for s in labels],
            alpha=alpha, **whisker)
    ends = values if ranges is None else [hi for _, hi in ranges]
    for yk, v, end in zip(y, values, ends, strict=True):
        ax.text(end, yk, " " + fmt(v, spec), va="center", ha="left", fontsize=8)
    ax.set_yticks(range(len(labels)), labels[::-1])
    ax.set_title(title, loc="left", fontsize=9, fontweight="bold")
    if log:
        ax.set_xscale("log")
    ax.set_xlim(right=max(ends) * (8 if log else 1.25))
    ax.spines[["top", "right"]].set_visible(False)


def _plain(text: str) -> str:
    return text.replace("`", "")


def plot_read(read: dict[str, Any], path: Path) -> None:
    """The bench_movie.py table: one panel per kind of measurement."""
    rows = read["rows"]
    panels = [(title, [r for r in rows if r["measurement"].startswith(prefix)], prefix, log)
              for title, prefix, log in READ_PANELS]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.1 + 0.32 * len(rows) + 0.5 *
                                                     len(panels)),
                             gridspec_kw={"height_ratios": [len(p[1]) for p in panels]})
    for ax, (title, chosen, prefix, log) in zip(axes, panels, strict=True):
        labels = [_plain(r["measurement"][len(prefix):].strip(" ,")) for r in chosen]
        _bars(ax, labels, [r["value"] for r in chosen], title=title, log=log)
    fig.suptitle(f"{read['title']}\nblue: isxio, red: isx, grey: numpy", fontsize=10)
    _save(fig, path)


def plot_nwb(run: dict[str, Any], path: Path) -> None:
    """A bench_nwb.py table: conversion speed (with and without fsync) and peak RSS."""
    rows = run["rows"]
    labels = [r["conversion"] for r in rows]
    fig, (speed, rss) = plt.subplots(1, 2, figsize=(9, 0.9 + 0.42 * len(rows)), sharey=True,
                                     gridspec_kw={"width_ratios": [3, 1.4]})
    colours = [_colour(s) for s in labels]
    _bars(speed, labels, [r["MB/s"] for r in rows], title="MB/s (light: incl. fsync)",
          offset=0.19, height=0.38, colours=colours)
    _bars(speed, labels, [r["MB/s incl. fsync"] for r in rows], title="MB/s (light: incl. "
          "fsync)", offset=-0.19, height=0.38, colours=colours, alpha=0.45)
    speed.set_xlim(right=max(r["MB/s"] for r in rows) * 1.25)
    _bars(rss, labels, [r["peak RSS"] for r in rows], title="peak RSS (GiB)",
          spec=".2f")  # the tables give GiB to 2 decimals
    fig.suptitle(f"Movie to NWB with run_conversion, {run['title']}\nblue: isxio, red: "
                 "neuroconv's isx-backed interface", fontsize=10)
    _save(fig, path)


def plot_imwrite(run: dict[str, Any], path: Path) -> None:
    """The bench_imwrite.py table: MB/s and peak RSS, imwrite (blue) over its ceiling (grey)."""
    rows = run["rows"]
    labels = [f"{_plain(r['target'])}  ({fmt(r['imwrite / ceiling'])}x)" for r in rows]
    fig, (speed, rss) = plt.subplots(1, 2, figsize=(10, 1.1 + 0.5 * len(rows)), sharey=True,
                                     gridspec_kw={"width_ratios": [3, 1.4]})
    for ax, key, title in [(speed, "MB/s", "MB/s, median (min–max) of 3 runs"),
                           (rss, "peak RSS", "peak RSS (MiB)")]:
        ends = []
        for who, offset, colour in [("imwrite", 0.19, ISXIO_COLOUR),
                                    ("ceiling", -0.19, _colour("numpy"))]:
            cells = [r[f"{who} {key}"] for r in rows]
            ranged = isinstance(cells[0], list)
            _bars(ax, labels, [c[0] if ranged else c for c in cells], title=title,
                  offset=offset, height=0.38, colours=[colour] * len(rows),
                  ranges=[c[1:] for c in cells] if ranged else None)
            ends += [c[-1] if ranged else c for c in cells]
        ax.set_xlim(right=max(ends) * 1.25)
    fig.suptitle(f"imwrite(movie.isxd, out) to every target, {run['title']}\nblue: imwrite, "
                 "grey: the ceiling (the format's own library writing the in-memory array); "
                 "in brackets: imwrite / ceiling", fontsize=10)
    _save(fig, path)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": "plot_results.py"})
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[Path]:
    """Write one SVG per table of results.json into ``--out``; return their paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.rc_context(STYLE):
        path = args.out / results["read"]["image"]
        plot_read(results["read"], path)
        written.append(path)
        for run in results["nwb"]:
            plot_nwb(run, args.out / run["image"])
            written.append(args.out / run["image"])
        path = args.out / results["imwrite"]["image"]
        plot_imwrite(results["imwrite"], path)
        written.append(path)
    for path in written:
        print(f"{path} ({path.stat().st_size:,} bytes)")
    return written


if __name__ == "__main__":
    main()
