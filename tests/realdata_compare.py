"""Comparison of isxio with isx on one real file, per kind. Used by test_realdata.py.

Each ``compare_*`` function asserts equality of everything both libraries expose and
returns a short description of what was compared (for the docs' results table).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

import isxio


def _ratio(impl) -> Fraction:
    return Fraction(int(impl.num), int(impl.den))


def compare_timing(ours, theirs) -> str:
    """``ours``: isxio.Timing; ``theirs``: isx.Timing. Everything exact."""
    assert ours.num_samples == theirs.num_samples
    assert ours.info.period.fraction == _ratio(theirs._impl.step), \
        (ours.info.period, theirs._impl.step)
    assert ours.info.start.secs_since_epoch.fraction == \
        _ratio(theirs._impl.start.secs_since_epoch)
    assert ours.info.start.utc_offset == theirs._impl.start.utc_offset
    assert ours.start.to_datetime() == theirs.start.to_datetime()
    assert ours.dropped == theirs.dropped and ours.blank == theirs.blank
    assert [tuple(c) for c in ours.cropped] == [tuple(c) for c in theirs.cropped]
    np.testing.assert_array_equal(ours.get_valid_samples_mask(),
                                  theirs.get_valid_samples_mask())
    invalid = ours.num_samples - int(ours.get_valid_samples_mask().sum())
    return (f"timing exact ({ours.num_samples} samples, period {ours.info.period.num}/"
            f"{ours.info.period.den} s, {invalid} invalid)")


def compare_spacing(ours, theirs) -> None:
    assert ours.num_pixels == theirs.num_pixels
    info, impl = ours.info, theirs._impl
    assert info.pixel_size[0].fraction == _ratio(impl.pixel_width)
    assert info.pixel_size[1].fraction == _ratio(impl.pixel_height)
    assert info.top_left[0].fraction == _ratio(impl.left)
    assert info.top_left[1].fraction == _ratio(impl.top)


def compare_movie(path: str, isx) -> list[str]:
    ours, theirs = isxio.Movie.read(path), isx.Movie.read(path)
    notes = [compare_timing(ours.timing, theirs.timing)]
    compare_spacing(ours.spacing, theirs.spacing)
    assert ours.data_type == theirs.data_type
    assert ours.get_acquisition_info() == theirs.get_acquisition_info()
    n = theirs.timing.num_samples
    eager = np.stack([theirs.get_frame_data(i) for i in range(n)]) if n else None
    modern = isxio.open(path)
    for i in range(n):
        np.testing.assert_array_equal(ours.get_frame_data(i), eager[i])
    if n:
        lazy = modern.data
        np.testing.assert_array_equal(np.asarray(lazy), eager)
        for key in (slice(None, None, 7), slice(None, None, -1), slice(-3, None), -1, 0,
                    n // 2, [n - 1, 0, n // 2]):
            np.testing.assert_array_equal(lazy[key], eager[key])
    notes.append(f"{n} frames {np.dtype(ours.data_type).name} "
                 f"{ours.spacing.num_pixels[0]}x{ours.spacing.num_pixels[1]} exact "
                 "(facade, open().data, lazy slices)")
    if modern.header.has_frame_header_footer:
        tsc = [theirs.get_frame_timestamp(i) for i in range(n)]
        np.testing.assert_array_equal(modern.tsc, np.array(tsc, np.uint64))
        assert [ours.get_frame_timestamp(i) for i in range(n)] == tsc
        notes.append("frame header/footer: TSC timestamps exact, TSC-derived period exact")
    info = theirs.get_acquisition_info()
    notes.append(f"acquisition info equal ({len(info) if info else 0} keys)")
    return notes
