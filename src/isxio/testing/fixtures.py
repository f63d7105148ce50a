"""Writers of small synthetic Inscopix acquisition files, for tests.

Inscopix software cannot write ``.isxb``, ``.gpio``, ``.raw`` or ``.imu`` files, so
tests build them from the format descriptions (``other.md`` §1-3, §6) with these
functions and check that isx and isxio read them identically.  Every writer can
also produce damaged or unusual variants (no header, wrong packet sizes, junk,
dropped samples, hand-made JPEG bytes...).

The writers favour explicitness over convenience: each packet or frame is
described by the caller, nothing is inferred from the content.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IsxWriteError

__all__ = [
    "RAW_SYNC_PACKET",
    "GpioEvent",
    "bnc_gpio",
    "bnc_sync",
    "bnc_trig",
    "capture_all",
    "capture_gpio",
    "digital_gpio",
    "encode_gpio_events",
    "encode_mjpeg",
    "frame_count",
    "gpio_packet",
    "led",
    "raw_analog_packet",
    "raw_gpio_packet",
    "raw_led_packet",
    "waveform",
    "write_gpio",
    "write_imu",
    "write_isxb",
    "write_nvista2_hdf5",
    "write_nvoke_raw",
]

PathLike = str | os.PathLike[str]


def _json_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _u32(value: int) -> int:
    return int(value) & 0xFFFFFFFF


# ============================================================== .gpio (nVista 3)
SYNC_WORD = 0x0000AA55


@dataclass(frozen=True)
class GpioEvent:
    """One ``.gpio`` packet: type, payload words, and optionally a forced sequence number.

    ``seq=None`` continues the sequence (previous + 1); any other value is written
    as is (use it to simulate dropped packets).  ``words`` overrides the payload
    size field (to write packets whose size does not match their type).
    """

    type: int
    payload: tuple[int, ...]
    seq: int | None = None
    words: int | None = None

    def encode(self, seq: int) -> bytes:
        size = len(self.payload) if self.words is None else self.words
        head = struct.pack("<IIII", SYNC_WORD, _u32(self.type), _u32(seq), _u32(size))
        return head + struct.pack(f"<{len(self.payload)}I", *map(_u32, self.payload))


def _count(tsc: int, fc: int) -> tuple[int, int, int]:
    return (int(tsc) >> 32, int(tsc) & 0xFFFFFFFF, fc)


def _pair(lo: int, hi: int) -> int:
    return (int(lo) & 0xFFFF) | ((int(hi) & 0xFFFF) << 16)


def capture_all(tsc: int, *, fc: int = 0, gpi: int = 0, gpo: int = 0,
                bnc: Sequence[int] = (0, 0, 0, 0), ex_led: int = 0, og_led: int = 0,
                di_led: int = 0, efocus: int = 0, sync: int = 0, trig: int = 0,
                trig_sync_extra: int = 0, seq: int | None = None) -> GpioEvent:
    """CAPTURE_ALL (0x4001): digital GPI/GPO bytes, 4 BNC analog inputs, LEDs, e-focus."""
    digital = (int(gpi) & 0xFFFF) | ((int(gpo) & 0xFFFF) << 16)
    trig_sync = (int(sync) & 1) | ((int(trig) & 1) << 1) | (int(trig_sync_extra) & ~3)
    payload = (*_count(tsc, fc), digital, _pair(bnc[0], bnc[1]), _pair(bnc[2], bnc[3]),
               _pair(ex_led, og_led), _pair(di_led, efocus), trig_sync)
    return GpioEvent(0x4001, payload, seq)


def capture_gpio(tsc: int, *, fc: int = 0, gpi: int = 0, trig: int = 0,
                 bnc: Sequence[int] = (0, 0, 0, 0), seq: int | None = None) -> GpioEvent:
    """CAPTURE_GPIO (0x4002): digital inputs, raw BNC trigger, 4 BNC analog inputs."""
    payload = (*_count(tsc, fc), _pair(gpi, trig), _pair(bnc[0], bnc[1]),
               _pair(bnc[2], bnc[3]))
    return GpioEvent(0x4002, payload, seq)


def bnc_gpio(channel: int, tsc: int, value: int, *, fc: int = 0,
             seq: int | None = None) -> GpioEvent:
    """BNC_GPIO_1..4 (0x4003-0x4006): one analog input."""
    if not 1 <= channel <= 4:
        raise IsxWriteError(f"BNC GPIO channel must be 1..4, got {channel}")
    return GpioEvent(0x4002 + channel, (*_count(tsc, fc), value), seq)


def digital_gpio(tsc: int, value: int, *, fc: int = 0, seq: int | None = None) -> GpioEvent:
    """DIGITAL_GPIO (0x4007): the digital inputs (bits 0-7)."""
    return GpioEvent(0x4007, (*_count(tsc, fc), value), seq)


def led(which: str, tsc: int, value: int, *, fc: int = 0, seq: int | None = None
        ) -> GpioEvent:
    """EX_LED / OG_LED / DI_LED (0x4008-0x400A): LED power in 0.1 mW counts."""
    codes = {"ex": 0x4008, "og": 0x4009, "di": 0x400A}
    if which not in codes:
        raise IsxWriteError(f"LED must be one of {sorted(codes)}, got {which!r}")
    return GpioEvent(codes[which], (*_count(tsc, fc), value), seq)


def frame_count(tsc: int, fc: int, *, seq: int | None = None) -> GpioEvent:
    """FRAME_COUNT (0x400B): the frame counter alone."""
    return GpioEvent(0x400B, _count(tsc, fc), seq)


def bnc_trig(tsc: int, value: int, *, fc: int = 0, seq: int | None = None) -> GpioEvent:
    """BNC_TRIG (0x400C)."""
    return GpioEvent(0x400C, (*_count(tsc, fc), value), seq)


def bnc_sync(tsc: int, value: int, *, fc: int = 0, seq: int | None = None) -> GpioEvent:
    """BNC_SYNC (0x400D)."""
    return GpioEvent(0x400D, (*_count(tsc, fc), value), seq)


def waveform(buffer_num: int, count: int, *, seq: int | None = None) -> GpioEvent:
    """WAVEFORM (0x400E): read and discarded by isx (no count block)."""
    return GpioEvent(0x400E, (buffer_num, count), seq)


def gpio_packet(type: int, payload: Sequence[int], *, seq: int | None = None,
                words: int | None = None) -> GpioEvent:
    """Any packet: unknown or non-event types, or a lying size field (``words``)."""
    return GpioEvent(type, tuple(int(w) for w in payload), seq, words)


def encode_gpio_events(events: Iterable[GpioEvent | bytes], first_seq: int = 0) -> bytes:
    """The event stream: packets with running sequence numbers; ``bytes`` items verbatim."""
    out, seq = [], first_seq - 1
    for ev in events:
        if isinstance(ev, bytes | bytearray):
            out.append(bytes(ev))
            continue
        seq = seq + 1 if ev.seq is None else ev.seq
        out.append(ev.encode(seq))
    return b"".join(out)


def write_gpio(path: PathLike, events: Iterable[GpioEvent | bytes], *,
               header: str = "extras", start: tuple[int, int] = (1654732421836, 1000),
               utc_offset: int = 0, file_format: int = 1,
               session: Mapping[str, Any] | bytes | None = None, first_seq: int = 0,
               event_count: int | None = None, truncate: int | None = None) -> Path:
    """Write a ``.gpio`` file (spec §2.1.1).

    Parameters
    ----------
    header
        ``"none"`` (H0, alpha files: the stream starts at byte 0), ``"basic"`` (H1:
        32-byte header) or ``"extras"`` (H2: header + fileFormat + session offset).
    start
        Start time ``(num, den)`` seconds since the epoch (H1/H2).
    file_format
        The extras' ``fileFormat`` (240 = closed-loop).
    session
        Session JSON (a mapping, or raw bytes) appended after the stream (H2 only).
    truncate
        Keep only the first ``truncate`` bytes (a torn acquisition).
    """
    stream = encode_gpio_events(events, first_seq)
    events_n = stream.count(struct.pack("<I", SYNC_WORD)) if event_count is None \
        else event_count
    if header == "none":
        data = stream
    elif header in ("basic", "extras"):
        offset = 32 if header == "basic" else 48
        data = struct.pack("<QQiIQ", start[0], start[1], utc_offset, offset, events_n)
        if header == "extras":
            sess = b"" if session is None else _json_bytes(session)
            session_offset = offset + len(stream) if sess else 0
            data += struct.pack("<QQ", file_format, session_offset) + stream + sess
        else:
            data += stream
    else:
        raise IsxWriteError(f"header must be 'none', 'basic' or 'extras', got {header!r}")
    return _write(path, data[:truncate] if truncate is not None else data)


def _write(path: PathLike, data: bytes) -> Path:
    path = Path(path)
    path.write_bytes(data)
    return path


# ============================================================== .raw (nVoke 1)
RAW_SYNC_PACKET = b"\x55" * 6 + b"\x5d"
RAW_KINDS = {"GPIO1": 1, "GPIO2": 2, "GPIO3": 3, "GPIO4": 4, "SYNC": 5, "TRIG": 6,
             "GPIO4_AI": 7, "EX_LED": 8, "OG_LED": 9, "DI_LED": 10}


def _raw_kind(kind: int | str, allowed: Iterable[int]) -> int:
    code = RAW_KINDS.get(kind, -1) if isinstance(kind, str) else int(kind)
    if code not in allowed:
        raise IsxWriteError(f"packet kind {kind!r} not allowed here")
    return code


def _raw_time(time_us: int, noise: int = 0) -> bytes:
    secs, usec = divmod(int(time_us), 1_000_000)
    return struct.pack(">I", secs) + bytes([((usec >> 16) & 0x0F) | (noise << 4 & 0xF0),
                                             (usec >> 8) & 0xFF, usec & 0xFF])


def raw_gpio_packet(kind: int | str, time_us: int, state: bool, *, mode: int = 1,
                    counter: int = 0, noise: int = 0) -> bytes:
    """GPIO1-4 / SYNC / TRIG packet (11 bytes); ``noise`` fills the masked time bits."""
    code = _raw_kind(kind, range(1, 7))
    return bytes([code, 11, counter & 0xFF, (0x80 if state else 0) | (mode & 3)]) + \
        _raw_time(time_us, noise)


def raw_led_packet(kind: int | str, time_us: int, power: int, state: int, *,
                   follow: int = 0, counter: int = 0) -> bytes:
    """EX/OG/DI LED packet (13 bytes): 9-bit power (0.1 mW), state 0 off, 1 on, 2/3 ramps."""
    code = _raw_kind(kind, range(8, 11))
    return bytes([code, 13, counter & 0xFF, (power >> 1) & 0xFF,
                  ((power & 1) << 4) | (state & 3), follow & 0xFF]) + _raw_time(time_us)


def raw_analog_packet(time_us: int, samples: Sequence[int], max_power: int, *,
                      counter: int = 0) -> bytes:
    """GPIO4_AI analog-follow packet (32 bytes): 10 big-endian samples at 1 ms steps."""
    if len(samples) != 10:
        raise IsxWriteError("an analog packet holds exactly 10 samples")
    body = struct.pack(">10H", *(int(s) & 0xFFFF for s in samples))
    return bytes([7, 32, counter & 0xFF, max_power & 0x80, max_power & 0x7F]) + body + \
        _raw_time(time_us)


def write_nvoke_raw(path: PathLike, packets: Iterable[bytes], *, prefix: bytes = b"",
                    sync: bool = True, truncate: int | None = None) -> Path:
    """Write an nVoke 1 ``.raw`` GPIO file: ``prefix``, a sync packet, then ``packets``."""
    data = prefix + (RAW_SYNC_PACKET if sync else b"") + b"".join(packets)
    return _write(path, data[:truncate] if truncate is not None else data)


# ============================================================== .hdf5 (nVista 2)
def write_nvista2_hdf5(path: PathLike, timestamps: Any, anc_data: Any, anc_data_count: Any,
                       *, timestamp_name: str = "timeStamp", count_dtype: str = "uint8",
                       images: Any = None) -> Path:
    """Write an nVista 2 GPIO ``.hdf5`` file (spec §2.3), with h5py.

    ``anc_data`` is ``(n, 15)`` uint16: the first ``anc_data_count[s]`` words of row
    ``s`` each hold 4 samples (low nibble first; bits IO1, IO2, sync, trigger).
    ``images`` (``(n, rows, cols)`` uint16) adds the movie isx insists on opening
    before it converts the GPIO part of an ``.hdf5`` recording.
    """
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on environment
        raise ImportError("writing .hdf5 GPIO files needs h5py: pip install 'isxio[hdf5]'") \
            from exc
    path = Path(path)
    with h5py.File(path, "w") as f:
        f[timestamp_name] = np.asarray(timestamps, np.float64)
        f["anc_data"] = np.asarray(anc_data, np.uint16)
        f["anc_data_count"] = np.asarray(anc_data_count).astype(count_dtype)
        if images is not None:
            f["images"] = np.asarray(images, np.uint16)
    return path


# ============================================================== .imu
IMU_HEADER = struct.Struct("<QQiHH" + "Q" * 11)


def _ratio_json(value: Fraction | tuple[int, int]) -> dict[str, int]:
    num, den = (value.numerator, value.denominator) if isinstance(value, Fraction) else value
    return {"num": int(num), "den": int(den)}


def _time_json(secs: tuple[int, int], utc_offset: int) -> dict[str, Any]:
    return {"secsSinceEpoch": _ratio_json(secs), "utcOffset": utc_offset}


def _imu_records(values: Any, timestamps: Any, reserved: Any) -> bytes:
    arr = np.asarray(values, dtype=np.int64).reshape(-1, 3)
    rec = np.zeros(len(arr), np.dtype([("t", "<u8"), ("xyz", "<i2", 3), ("r", "<i2")]))
    rec["t"] = np.arange(len(arr)) * 20 if timestamps is None else timestamps
    rec["xyz"] = arr
    rec["r"] = 0 if reserved is None else reserved
    return rec.tobytes()


def _imu_stream_timing(num_times: int, period_ms: tuple[int, int],
                       dropped: Sequence[int]) -> dict[str, Any]:
    return {"dropped": [int(d) for d in dropped], "numTimes": int(num_times),
            "periodMs": _ratio_json(period_ms)}


def write_imu(path: PathLike, acc: Any, ori: Any, mag: Any, *,
              start: tuple[int, int] = (1581619401465, 1000), utc_offset: int = 0,
              end: tuple[int, int] | None = None, acc_period_ms: tuple[int, int] = (20, 1),
              mag_period_ms: tuple[int, int] | None = None, acc_dropped: Sequence[int] = (),
              mag_dropped: Sequence[int] = (), mag_timing: bool = True,
              session: Mapping[str, Any] | bytes | None = None,
              timestamps_ms: Any = None, temperature: Any = None,
              truncate: int | None = None) -> Path:
    """Write an ``.imu`` file (spec §3): 112-byte header, acc/mag/ori records, JSON footer.

    ``acc`` and ``ori`` are ``(n, 3)`` int16 (stored, i.e. non-dropped, samples in
    lock-step), ``mag`` is ``(m, 3)``.  ``numTimes`` = stored + dropped.  ``end``
    defaults to ``start + acc period × numTimes``.  ``session`` replaces the whole
    JSON footer when given (bytes for garbage).
    """
    acc_b, ori_b = _imu_records(acc, timestamps_ms, None), _imu_records(ori, timestamps_ms,
                                                                        temperature)
    mag_b = _imu_records(mag, None, None)
    n_acc, n_mag = len(acc_b) // 16, len(mag_b) // 16
    mag_period = mag_period_ms or (acc_period_ms[0] * 20, acc_period_ms[1])
    acc_times = n_acc + len(acc_dropped)
    if end is None:
        f = Fraction(*start) + Fraction(acc_period_ms[0], acc_period_ms[1] * 1000) * acc_times
        end = (f.numerator, f.denominator)
    timing: dict[str, Any] = {
        "start": _time_json(start, utc_offset), "end": _time_json(end, utc_offset),
        "accelerometer": _imu_stream_timing(acc_times, acc_period_ms, acc_dropped)}
    if mag_timing:
        timing["magnetometer"] = _imu_stream_timing(n_mag + len(mag_dropped), mag_period,
                                                    mag_dropped)
    footer = _json_bytes({"timingInfo": timing} if session is None else session)
    acc_off = IMU_HEADER.size
    mag_off = acc_off + len(acc_b)
    ori_off = mag_off + len(mag_b)
    sess_off = ori_off + len(ori_b)
    header = IMU_HEADER.pack(start[0], start[1], utc_offset, 1, 0, n_acc, acc_off, len(acc_b),
                             n_mag, mag_off, len(mag_b), len(ori_b) // 16, ori_off,
                             len(ori_b), sess_off, len(footer))
    data = header + acc_b + mag_b + ori_b + footer
    return _write(path, data[:truncate] if truncate is not None else data)


# ============================================================== .isxb (nVision)
def encode_mjpeg(frames: Any, *, fps: float = 30.0) -> list[bytes]:
    """Encode ``(n, rows, cols)`` uint8 frames as baseline JPEGs with FFmpeg (PyAV).

    Like isxcore's own writer: pixel format yuvj420p, Y = the frame, Cb = Cr = 128,
    bit rate = fps × pixels × 8.  FFmpeg decodes these bit-exactly in isx and isxio.
    """
    try:
        import av
    except ImportError as exc:  # pragma: no cover - depends on environment
        raise ImportError("encoding .isxb frames needs PyAV: pip install 'isxio[video]'") \
            from exc
    arr = np.asarray(frames)
    if arr.ndim != 3 or arr.dtype != np.uint8:
        raise IsxWriteError(f"frames must be (n, rows, cols) uint8, got {arr.shape} {arr.dtype}")
    n, rows, cols = arr.shape
    ctx = av.CodecContext.create("mjpeg", "w")
    ctx.width, ctx.height, ctx.pix_fmt = cols, rows, "yuvj420p"
    ctx.time_base = Fraction(1, 30) if fps == 30.0 else Fraction(fps).limit_denominator() ** -1
    ctx.bit_rate = int(fps * rows * cols * 8)
    ctx.open()
    out = []
    for img in arr:
        frame = av.VideoFrame(cols, rows, "yuvj420p")
        y = frame.planes[0]
        padded = np.zeros((rows, y.line_size), np.uint8)
        padded[:, :cols] = img
        y.update(padded.tobytes())
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        out.extend(bytes(p) for p in ctx.encode(frame))
    out.extend(bytes(p) for p in ctx.encode(None))
    if len(out) != n:  # pragma: no cover - MJPEG has no delay
        raise IsxWriteError(f"encoder returned {len(out)} packets for {n} frames")
    return out


def _isxb_session(camera: str, alias: str, rows: int, cols: int, zones: Any,
                  extra: Mapping[str, Any] | None) -> dict[str, Any]:
    session: dict[str, Any] = {
        "cameraName": camera,
        "processingInterface": {
            camera: {"cameraAlias": alias, "cameraSerial": "KTM-TEST1",
                     "recordFov": {"width": cols, "height": rows, "originx": 0, "originy": 0},
                     "sensorParams": {"brightness": 0, "contrast": 32, "saturation": 64,
                                      "gain": 0, "exposure": {"type": "auto", "value": 15}}},
            "recordingUUID": "GA-00000000-0000000000-1600000000000"},
    }
    if zones is not None:
        session["trackingInterface"] = [{"cameraName": alias or camera, "enable": True,
                                         "zones": list(zones)}]
    session.update(extra or {})
    return session


def write_isxb(path: PathLike, frames: Any = None, timestamps: Sequence[int] | None = None,
               *, jpegs: Sequence[bytes] | None = None, fc: Sequence[int] | None = None,
               dropped: Sequence[int] = (), epoch_ms: int = 1600000000123,
               utc_offset_min: int = 0, camera_name: str = "camera-1", camera_alias: str = "",
               shape: tuple[int, int] | None = None, trackers: Sequence[Any] | None = None,
               zones: Sequence[Mapping[str, Any]] | None = None,
               session_extra: Mapping[str, Any] | None = None,
               session: Mapping[str, Any] | bytes | None = None,
               frame_metadata: Mapping[str, Any] | bytes | bool = True,
               num_drops: int | None = None, num_frames: int | None = None,
               fps: float = 30.0) -> Path:
    """Write an nVision ``.isxb`` movie (spec §1, §6).

    Parameters
    ----------
    frames
        ``(stored frames, rows, cols)`` uint8, encoded with :func:`encode_mjpeg`;
        or give ``jpegs`` (raw JPEG bytes per stored frame) instead.
    timestamps, fc
        Per stored frame TSC (µs) and frame counter (default: 30 fps, fc from 1).
    dropped
        Timeline indices of dropped frames (``droppedFrames``; header ``numDrops``
        unless ``num_drops`` is given).
    shape
        ``(rows, cols)`` written as ``recordFov`` (default: the frames' shape).
    trackers
        Per stored frame: the ``tracker`` object (or None for no tracker).
    zones
        Zone definitions for ``trackingInterface`` (camera alias or name).
    session_extra
        Keys merged into the default session metadata (e.g. ``timingInfo``).
    session
        The whole session block instead of the default (mapping or raw bytes).
    frame_metadata
        True: the usual ``{"samples", "droppedFrames"}`` block; False: none
        (``metaSize`` 0); or a mapping / raw bytes written verbatim.
    num_drops, num_frames
        Override the header's counts (to write inconsistent files).
    """
    if jpegs is None:
        if frames is None:
            raise IsxWriteError("give frames or jpegs")
        jpegs = encode_mjpeg(frames, fps=fps)
        rows, cols = np.asarray(frames).shape[1:]
    else:
        rows, cols = shape or (0, 0)
    rows, cols = shape or (rows, cols)
    n = len(jpegs)
    tsc = list(timestamps) if timestamps is not None else \
        [1_000_000_000 + round(k * 1e6 / fps) for k in range(n)]
    counters = list(fc) if fc is not None else list(range(1, n + 1))
    if frame_metadata is True:
        samples = [{"fc": int(counters[k]), "tsc": int(tsc[k])} for k in range(n)]
        for k, tracker in enumerate(trackers or []):
            if tracker is not None:
                samples[k]["tracker"] = tracker
        meta = _json_bytes({"droppedFrames": [int(d) for d in dropped], "samples": samples})
    else:
        meta = b"" if frame_metadata is False else _json_bytes(frame_metadata)
    sess = _json_bytes(session if session is not None else _isxb_session(
        camera_name, camera_alias, rows, cols, zones, session_extra))
    video = b"".join(jpegs)
    drops = len(dropped) if num_drops is None else num_drops
    v_off = 96
    stored = n if num_frames is None else num_frames
    header = struct.pack("<QQQqQQQQQQQQ", 100, 96, epoch_ms, utc_offset_min, stored, drops, v_off,
                         len(video), v_off + len(video), len(meta),
                         v_off + len(video) + len(meta), len(sess))
    return _write(path, header + video + meta + sess)
