"""isx-compatible core types against isx itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isxio

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx


@st.composite
def timings(draw):
    n = draw(st.integers(0, 40))
    num = draw(st.integers(1, 10**6))
    den = draw(st.sampled_from([1, 1000, 10**6, 3, 29000000]))
    start_den = draw(st.sampled_from([1, 1000, 10**6]))
    start_num = draw(st.integers(0, 4 * 10**9 * start_den))  # up to year 2096
    utc = draw(st.integers(-50400, 50400))
    idx = st.integers(0, max(n - 1, 0))
    dropped = sorted(set(draw(st.lists(idx, max_size=4)))) if n else []
    blank = sorted(set(draw(st.lists(idx, max_size=3))) - set(dropped)) if n else []
    cropped = []
    if n:
        for a in draw(st.lists(idx, max_size=2)):
            b = draw(st.integers(a, n - 1))
            cropped.append((a, b))
    return n, (num, den), (start_num, start_den, utc), dropped, cropped, blank


def _make(mod, spec):
    n, (num, den), (snum, sden, utc), dropped, cropped, blank = spec
    start = mod.Time._from_secs_since_epoch(mod.Duration._from_num_den(snum, sden), utc)
    return mod.Timing(num_samples=n, period=mod.Duration._from_num_den(num, den), start=start,
                      dropped=dropped, cropped=cropped, blank=blank)


@settings(max_examples=60, deadline=None)
@given(timings())
def test_timing_matches_isx(spec):
    ours, theirs = _make(isxio, spec), _make(isx, spec)
    assert ours.num_samples == theirs.num_samples
    assert ours.period.secs_float == theirs.period.secs_float
    assert ours.dropped == theirs.dropped
    assert [tuple(c) for c in ours.cropped] == [tuple(c) for c in theirs.cropped]
    assert ours.blank == theirs.blank
    assert ours.start.to_datetime() == theirs.start.to_datetime()
    np.testing.assert_array_equal(ours.get_valid_samples_mask(), theirs.get_valid_samples_mask())
    np.testing.assert_array_equal(ours.get_valid_samples(), theirs.get_valid_samples())
    assert [d.secs_float for d in ours.get_offsets_since_start()] == \
        [d.secs_float for d in theirs.get_offsets_since_start()]
    assert str(ours) == str(theirs)


@pytest.mark.parametrize("maker", ["from_secs", "from_msecs", "from_usecs"])
@pytest.mark.parametrize("value", [0, 1, 7, 50, 123456, 10**9 + 7])
def test_duration_matches_isx(maker, value):
    ours, theirs = getattr(isxio.Duration, maker)(value), getattr(isx.Duration, maker)(value)
    assert ours.secs_float == theirs.secs_float
    assert (ours.to_secs(), ours.to_msecs(), ours.to_usecs()) == \
        (theirs.to_secs(), theirs.to_msecs(), theirs.to_usecs())
    assert str(ours) == str(theirs)
    assert (ours._impl.num, ours._impl.den) == (theirs._impl.num, theirs._impl.den)


@pytest.mark.parametrize("value", [0.05, 1 / 3, 0.179973, 2.5e-7])
def test_duration_from_float(value):
    ours, theirs = isxio.Duration._from_secs_float(value), isx.Duration._from_secs_float(value)
    assert (ours._impl.num, ours._impl.den) == (theirs._impl.num, theirs._impl.den)


def test_timing_argument_checks():
    with pytest.raises(ValueError):
        isxio.Timing(num_samples=-1)
    with pytest.raises(TypeError):
        isxio.Timing(num_samples=3, period=0.05)
    with pytest.raises(ValueError):
        isxio.Timing(num_samples=3, start=0)


@pytest.mark.parametrize("shape", [(0, 0), (1, 1), (1080, 1440), (3, 7)])
def test_spacing_matches_isx(shape):
    ours, theirs = isxio.Spacing(num_pixels=shape), isx.Spacing(num_pixels=shape)
    assert ours.num_pixels == theirs.num_pixels
    assert str(ours) == str(theirs)
    np.testing.assert_array_equal(ours._pixel_coordinates, theirs._pixel_coordinates)
    with pytest.raises(ValueError):
        isxio.Spacing(num_pixels=(1, 2, 3))
