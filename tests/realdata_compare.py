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


def compare_events(path: str, isx) -> list[str]:
    ours, theirs = isxio.EventSet.read(path), isx.EventSet.read(path)
    notes = [compare_timing(ours.timing, theirs.timing)]
    assert ours.num_cells == theirs.num_cells
    assert ours.cell_dict == theirs.cell_dict
    assert ours.get_acquisition_info() == theirs.get_acquisition_info()
    modern = isxio.open(path).all_channel_data()
    total = 0
    for i in range(theirs.num_cells):
        assert ours.get_cell_name(i) == theirs.get_cell_name(i)
        t_off, t_val = theirs.get_cell_data(i)
        o_off, o_val = ours.get_cell_data(i)
        np.testing.assert_array_equal(o_off, t_off)
        np.testing.assert_array_equal(o_val, t_val)
        np.testing.assert_array_equal(modern[i][0], t_off)
        np.testing.assert_array_equal(modern[i][1], t_val)
        total += len(t_off)
    notes.append(f"{theirs.num_cells} cells, {total} events: offsets (µs) and amplitudes "
                 "exact (facade and all_channel_data)")
    notes.append("cell names, acquisition info equal")
    return notes


def compare_gpio(path: str, isx) -> list[str]:
    ours, theirs = isxio.GpioSet.read(path), isx.GpioSet.read(path)
    notes = [compare_timing(ours.timing, theirs.timing)]
    assert ours.num_channels == theirs.num_channels
    assert ours.channel_dict == theirs.channel_dict
    total = 0
    for i in range(theirs.num_channels):
        assert ours.get_channel_name(i) == theirs.get_channel_name(i)
        t_off, t_val = theirs.get_channel_data(i)
        o_off, o_val = ours.get_channel_data(i)
        np.testing.assert_array_equal(o_off, t_off)
        np.testing.assert_array_equal(o_val, t_val)
        total += len(t_off)
    assert ours.get_acquisition_info() == theirs.get_acquisition_info()
    notes.append(f"{theirs.num_channels} channels, {total} samples exact; acquisition info equal")
    return notes


def compare_cellset(path: str, isx) -> list[str]:
    ours, theirs = isxio.CellSet.read(path), isx.CellSet.read(path)
    notes = [compare_timing(ours.timing, theirs.timing)]
    compare_spacing(ours.spacing, theirs.spacing)
    assert ours.num_cells == theirs.num_cells
    assert ours.get_acquisition_info() == theirs.get_acquisition_info()
    modern = isxio.open(path)
    n = theirs.num_cells
    for i in range(n):
        assert ours.get_cell_name(i) == theirs.get_cell_name(i)
        assert ours.get_cell_status(i) == theirs.get_cell_status(i)
        trace, image = theirs.get_cell_trace_data(i), theirs.get_cell_image_data(i)
        np.testing.assert_array_equal(ours.get_cell_trace_data(i), trace)
        np.testing.assert_array_equal(ours.get_cell_image_data(i), image)
        np.testing.assert_array_equal(modern.traces[i], trace)
        np.testing.assert_array_equal(modern.footprints[i], image)
    if n:
        all_traces = np.stack([theirs.get_cell_trace_data(i) for i in range(n)])
        np.testing.assert_array_equal(np.asarray(modern.traces), all_traces)
        np.testing.assert_array_equal(modern.traces[::-1, ::7], all_traces[::-1, ::7])
    statuses = sorted({theirs.get_cell_status(i) for i in range(n)})
    notes.append(f"{n} cells: traces (incl. NaN), footprints, names, statuses {statuses} exact")
    notes.append("acquisition info equal; colours checked against the file's JSON in "
                 "test_cellset.py (isx exposes none)")
    return notes


def compare_isxb(path: str, isx) -> list[str]:
    """nVision movie: frames within the README's tolerance, everything else exact."""
    ours, theirs = isxio.Movie.read(path), isx.Movie.read(path)
    notes = [compare_timing(ours.timing, theirs.timing)]
    compare_spacing(ours.spacing, theirs.spacing)
    assert ours.data_type == theirs.data_type
    assert ours.get_acquisition_info() == theirs.get_acquisition_info()
    n = theirs.timing.num_samples
    modern = isxio.open(path)
    worst, off_pixels, total = 0, 0, 0
    for i in range(n):
        expected = theirs.get_frame_data(i).astype(np.int16)
        got = ours.get_frame_data(i)
        np.testing.assert_array_equal(np.asarray(modern.data[i]), got)
        diff = np.abs(got.astype(np.int16) - expected)
        worst = max(worst, int(diff.max()))
        off_pixels += int(np.count_nonzero(diff))
        total += diff.size
        assert ours.get_frame_timestamp(i) == theirs.get_frame_timestamp(i)
    assert worst <= 1, worst
    assert off_pixels <= 0.001 * total, off_pixels / total
    notes.append(f"{n} frames {ours.spacing.num_pixels[0]}x{ours.spacing.num_pixels[1]}: "
                 f"max |diff| {worst}, {100 * off_pixels / total:.4f} % of pixels differ "
                 "(tolerance 1 on 0.1 %)")
    notes.append("per-frame TSC timestamps exact; acquisition info equal")
    return notes
