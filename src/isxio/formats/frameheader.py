"""Metadata pixels of nVista 3 frame headers (spec ``isxd.md`` §4.5).

Each metadata pixel carries one byte in bits 4-11; multi-byte fields are
little-endian over consecutive pixels and combined as isxcore does,
``Σ (pixel[k + n] >> 4) << 8n``, without masking the top bits.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HEADER_FIELDS", "HEADER_PIXELS", "decode_header_fields", "encode_header_fields"]

#: field name -> (first header pixel, number of bytes)
HEADER_FIELDS: dict[str, tuple[int, int]] = {
    "color_id": (1256, 1),
    "write_enable": (1257, 1),
    "frame_counter": (1258, 4),
    "led1_power": (1262, 2),
    "led1_forward_voltage": (1264, 2),
    "led2_power": (1266, 2),
    "led2_forward_voltage": (1268, 2),
    "efocus": (1270, 2),
    "tsc": (1272, 8),
}
SYNC_PIXEL, SYNC_WORD = 0, 0x0A0
HEADER_PIXELS = 2560  #: uint16 values in a frame header (and in a footer)


def decode_header_fields(headers: np.ndarray) -> dict[str, np.ndarray]:
    """Decode every metadata field of frame headers ``(..., 2560)`` into uint64 arrays.

    Also returns ``sync`` (header pixel 0, expected ``0x0A0``).
    """
    headers = np.asarray(headers)
    out: dict[str, np.ndarray] = {"sync": headers[..., SYNC_PIXEL].astype(np.uint64)}
    for name, (first, size) in HEADER_FIELDS.items():
        pixels = headers[..., first:first + size].astype(np.uint64)
        value = np.zeros(pixels.shape[:-1], np.uint64)
        for n in range(size):
            value |= (pixels[..., n] >> np.uint64(4)) << np.uint64(8 * n)
        out[name] = value
    return out


def encode_header_fields(**fields: int) -> np.ndarray:
    """A frame header ``(2560,)`` uint16 with the sync word and the given fields set.

    The inverse of :func:`decode_header_fields`: each byte of a field goes to bits
    4-11 of its pixel, least significant byte first (e.g. ``tsc=..., efocus=...``).
    """
    header = np.zeros(HEADER_PIXELS, np.uint16)
    header[SYNC_PIXEL] = SYNC_WORD
    for name, value in fields.items():
        first, size = HEADER_FIELDS[name]
        for n in range(size):
            header[first + n] = ((int(value) >> (8 * n)) & 0xFF) << 4
    return header
