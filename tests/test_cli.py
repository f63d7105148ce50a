"""The ``isxio`` command line, run as a user runs it (a subprocess): every command, exit
codes, one-line errors on bad input; many sessions on Dask with one broken session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("click")

from isxio.examples import make_example_session

SPECS = Path(__file__).resolve().parents[1] / "conversion_specs"


def isxio(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "isxio", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("session")
    paths = make_example_session(folder, full=True)
    damaged = folder.parent / "damaged.isxd"
    damaged.write_bytes(paths["movie"].read_bytes()[:5000])
    return {**paths, "damaged": damaged}


def test_help_lists_every_command():
    out = isxio("--help")
    assert out.returncode == 0
    for command in ("demo", "info", "convert", "export", "validate", "preview"):
        assert command in out.stdout


def test_info_damaged_file_is_one_line_and_the_others_continue(session):
    out = isxio("info", session["movie"], session["damaged"], session["cellset"])
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0].startswith("example_movie.isxd: MovieFile, data (200, 48, 64) uint16")
    assert "from 2023-11-14T17:13:20-05:00, 1 dropped, 2 cropped" in lines[0]
    assert lines[1].startswith("example_cellset.isxd: CellSetFile") and "6 cells" in lines[1]
    [error] = out.stderr.splitlines()
    assert str(session["damaged"]) in error and "Traceback" not in out.stderr


def test_info_json(session):
    out = isxio("info", "--json", session["multiplane"], session["movie"])
    assert out.returncode == 0
    multi, movie = json.loads(out.stdout)
    assert multi["planes"] == 3 and multi["shape"] == [120, 24, 32]
    assert (movie["dropped"], movie["cropped"], movie["samples"]) == (1, 2, 200)
    assert movie["start"] == "2023-11-14T17:13:20-05:00"


def test_validate(session):
    good = isxio("validate", session["movie"], session["cellset"], session["events"],
                 session["gpio"], session["imu"], session["behavior"])
    assert good.returncode == 0, good.stderr
    bad = isxio("validate", session["movie"], session["damaged"])
    assert bad.returncode == 1
    [line] = bad.stderr.splitlines()
    assert line.startswith(str(session["damaged"])) and "byte offset" in line


def test_export_every_format(session, tmp_path):
    for fmt, suffix in (("tiff", ".tif"), ("mp4", ".mp4"), ("csv", ".csv"), ("zarr", ".zarr"),
                        ("h5", ".h5")):
        out = tmp_path / f"movie{suffix}"
        run = isxio("--quiet", "export", session["movie"], "--to", fmt, "-o", out)
        assert run.returncode == 0, run.stderr
        assert out.exists()
    import tifffile

    movie = np.asarray(tifffile.imread(tmp_path / "movie.tif"))
    assert movie.shape == (197, 48, 64)  # invalid frames left out, as isx does
    for name in ("events", "gpio", "imu", "cellset"):
        run = isxio("export", session[name], "--to", "csv", "-o", tmp_path / f"{name}.csv")
        assert run.returncode == 0, run.stderr
        assert (tmp_path / f"{name}.csv").read_text().count("\n") > 5
    bad = isxio("export", session["events"], "--to", "mp4", "-o", tmp_path / "x.mp4")
    assert bad.returncode == 1
    assert bad.stderr.startswith("isxio: error:") and "exports to csv" in bad.stderr


def test_preview_writes_pngs(session, tmp_path):
    pytest.importorskip("matplotlib")
    for name in ("movie", "cellset", "events", "gpio", "imu", "behavior"):
        out = tmp_path / f"{name}.png"
        run = isxio("preview", session[name], "-o", out)
        assert run.returncode == 0, run.stderr
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    missing = tmp_path / "missing.isxd"
    run = isxio("convert", missing)
    assert run.returncode != 0 and "missing.isxd" in run.stderr
    junk = tmp_path / "junk.isxd"
    junk.write_bytes(b"not an isxd file")
    run = isxio("preview", junk, "-o", tmp_path / "x.png")
    assert run.returncode == 1
    assert len(run.stderr.splitlines()) == 1 and "junk.isxd" in run.stderr
    run = isxio("--debug", "preview", junk, "-o", tmp_path / "x.png")
    assert run.returncode == 1 and "Traceback" in run.stderr
    assert isxio("no-such-command").returncode == 2


def test_convert_file_with_metadata(session, tmp_path):
    from pynwb import NWBHDF5IO

    meta = tmp_path / "meta.yml"
    meta.write_text("Subject: {age: P30D, subject_id: m7}\n"
                    "Ophys: {ImagingPlanes: {inscopix_imaging: {location: V1}}}\n")
    out = tmp_path / "movie.nwb"
    run = isxio("convert", session["movie"], "-o", out, "--metadata", meta)
    assert run.returncode == 0, run.stderr
    assert "converted" in run.stdout
    assert "OnePhotonSeries: 100%" in run.stderr  # the movie's progress bar
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(out), "r") as io:
            nwb = io.read()
            assert (nwb.subject.age, nwb.subject.subject_id) == ("P30D", "m7")
            assert nwb.acquisition["OnePhotonSeries"].imaging_plane.location == "V1"
    again = isxio("convert", session["movie"], "-o", out)
    assert again.returncode == 0 and "skipped" in again.stdout
    quiet = isxio("--quiet", "convert", session["movie"], "-o", out, "--overwrite")
    assert quiet.returncode == 0 and "%" not in quiet.stderr


BROKEN_SPEC = """
metadata:
  Subject: {species: Mus musculus, age: P90D}
experiments:
  exp:
    sessions:
      - nwbfile_name: good1.nwb
        source_data: {InscopixSession: {folder_path: good1}}
      - nwbfile_name: broken.nwb
        source_data: {InscopixSession: {folder_path: broken}}
      - nwbfile_name: good2.nwb
        source_data: {InscopixSession: {folder_path: good2}}
"""


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("many")
    make_example_session(root / "good1", seed=1)
    make_example_session(root / "good2", seed=2)
    (root / "broken").mkdir()
    (root / "broken" / "movie.isxd").write_bytes(b"garbage, not a movie")
    (root / "spec.yml").write_text(textwrap.dedent(BROKEN_SPEC))
    return root


def _check_broken_run(run: subprocess.CompletedProcess, out: Path) -> None:
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stderr.splitlines()  # the summary table (after any log line of Dask's)
    table = lines[next(k for k, line in enumerate(lines) if line.startswith("session ")):]
    assert table[0].split() == ["session", "output", "status", "time", "error"]
    rows = {line.split()[0]: line for line in table[1:4]}
    assert "converted" in rows["exp/1"] and "converted" in rows["exp/3"]
    assert "failed" in rows["exp/2"] and "spec.yml: session exp/2 (broken.nwb)" in rows["exp/2"]
    assert "no Inscopix data" in rows["exp/2"]
    assert table[-1] == "2 converted, 0 skipped, 1 failed"
    assert (out / "good1.nwb").is_file() and (out / "good2.nwb").is_file()
    assert not (out / "broken.nwb").exists()


def test_many_sessions_one_broken_on_a_local_cluster(many, tmp_path):
    run = isxio("convert", many / "spec.yml", "--output-folder-path", tmp_path, "--workers", "2")
    _check_broken_run(run, tmp_path)
    again = isxio("convert", many / "spec.yml", "--output-folder-path", tmp_path, "--serial")
    assert again.returncode == 1
    assert again.stderr.splitlines()[-1] == "0 converted, 2 skipped, 1 failed"


def test_many_sessions_on_an_existing_scheduler(many, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        run = isxio("--quiet", "convert", many / "spec.yml", "--output-folder-path", tmp_path,
                    "--scheduler", cluster.scheduler_address)
    _check_broken_run(run, tmp_path)
    assert "[1/3]" not in run.stdout  # --quiet: no progress lines


def test_spec_errors_exit_non_zero_naming_the_file(tmp_path):
    spec = tmp_path / "bad.yml"
    spec.write_text("experiments: {exp: {sessions: [{nwbfile_name: a}]}}\n")
    run = isxio("convert", spec)
    assert run.returncode == 1
    assert run.stderr.strip().endswith(
        f"{spec}: key experiments.exp.sessions[0]: 'source_data' is a required property")


REPO = Path(__file__).resolve().parents[1]


def test_docs_site_builds_strict(tmp_path):
    """mkdocs-material over docs/ with warnings as errors (the docs extra is in test)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d",
                          str(tmp_path / "site")], cwd=REPO, capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "site" / "cli" / "index.html").is_file()
    pages = {p.name for p in (REPO / "docs").glob("*.md")}
    nav = (REPO / "mkdocs.yml").read_text()
    assert not [p for p in pages if p not in nav], "every page is in the nav"


def test_docs_relative_links_resolve():
    """Links of docs/*.md to pages or to repository files (mkdocs only reports these)."""
    import re

    broken = []
    for page in (REPO / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            if "://" not in target and not target.startswith("mailto:") \
                    and not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert not broken, broken


def test_api_reference_covers_the_public_names():
    """Every name isxio exports is on an API page, and every API page is in the nav."""
    import contextlib
    import importlib
    import re

    import isxio

    api = "\n".join(p.read_text() for p in (REPO / "docs" / "api").glob("*.md"))
    shown = set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\b", api))
    for module in re.findall(r"^::: ([\w.]+)\s*$", api, re.M):  # a whole module's page
        with contextlib.suppress(ImportError):
            shown.update(getattr(importlib.import_module(module), "__all__", ()))
    missing = [name for name in isxio.__all__ if name not in shown and name != "__version__"]
    assert not missing, f"public names without API docs: {missing}"
    nav = (REPO / "mkdocs.yml").read_text()
    assert all(f"api/{p.name}" in nav for p in (REPO / "docs" / "api").glob("*.md"))
