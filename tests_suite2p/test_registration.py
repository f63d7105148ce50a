"""Suite2p 1.1's own rigid registration on a ``.bin`` written by :func:`isxio.imwrite`.

Not collected by the main test run (Suite2p 1.1 brings torch, ~6 GB): ``.ci/run`` runs
this folder in a virtual environment of its own (``pip install suite2p==1.1.0``).  The
movie is a field of blobs cut at known shifts; Suite2p must find them, frame by frame,
reading the binary, ``db.npy`` and ``settings.npy`` exactly as imwrite wrote them.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import isxio
from isxio.formats.movie import write_movie

if os.environ.get("ISXIO_REQUIRE_SUITE2P"):  # .ci/run: a missing Suite2p is a failure
    import suite2p
    import torch
else:
    suite2p = pytest.importorskip("suite2p")
    torch = pytest.importorskip("torch")

from suite2p.io import BinaryFile
from suite2p.parameters import default_settings
from suite2p.registration import register

ROWS, COLS, PAD, FRAMES = 96, 112, 8, 40


def _shifted_movie(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint16 frames cut from one field of Gaussian blobs at shifts (dy, dx) per frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:ROWS + 2 * PAD, :COLS + 2 * PAD]
    field = np.zeros(yy.shape)
    for _ in range(70):
        cy, cx = rng.uniform(0, yy.shape[0]), rng.uniform(0, yy.shape[1])
        width = rng.uniform(1.5, 4.0)
        field += rng.uniform(200, 800) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2)
                                               / (2 * width ** 2))
    dy = rng.integers(-5, 6, FRAMES)
    dx = rng.integers(-5, 6, FRAMES)
    frames = np.stack([field[PAD + a:PAD + a + ROWS, PAD + b:PAD + b + COLS]
                       for a, b in zip(dy, dx, strict=True)])
    frames = frames + 1000 + rng.normal(0, 5, frames.shape)
    return frames.astype(np.uint16), dy, dx


def test_suite2p_rigid_registration_finds_the_shifts(tmp_path):
    frames, dy, dx = _shifted_movie()
    movie = tmp_path / "shifted.isxd"
    write_movie(movie, frames)
    isxio.imwrite(movie, tmp_path / "suite2p.bin", progress=False)
    plane = tmp_path / "suite2p" / "plane0"
    db = np.load(plane / "db.npy", allow_pickle=True).item()
    settings = {**default_settings(), **np.load(plane / "settings.npy", allow_pickle=True)
                .item()}
    assert (db["Ly"], db["Lx"], db["nframes"]) == (ROWS, COLS, FRAMES)
    assert settings["fs"] == pytest.approx(isxio.open(movie).timing.sampling_rate)
    reg = {**settings["registration"], "nonrigid": False}
    binary = BinaryFile(db["Ly"], db["Lx"], db["reg_file"], n_frames=db["nframes"],
                        write=True)
    np.testing.assert_array_equal(np.asarray(binary.file), frames.astype(np.int16))
    out = register.registration_wrapper(binary, settings=reg, device=torch.device("cpu"))
    # Suite2p's offsets undo the shifts, relative to its own reference image
    assert np.unique(np.asarray(out["yoff"]) + dy).size == 1
    assert np.unique(np.asarray(out["xoff"]) + dx).size == 1
    assert np.ptp(dy) > 5 and np.ptp(dx) > 5  # the shifts are there to be found
