"""The kernel's logo, drawn here and written as a PNG file with nothing but ``zlib`` and ``struct``.

Three slabs stacked like an image's layers: Python's blue at the bottom, Docker's blue, Python's
yellow on top. A PNG file is an 8-byte signature and then chunks (length, type, data, CRC-32 of
type and data): ``IHDR`` gives the size and the pixel format (8-bit RGBA), ``IDAT`` holds the
zlib-compressed rows, each row led by a filter byte (0: none), and ``IEND`` ends the file.
"""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
SLABS = (  # (top, bottom) as fractions of the height, and the colour
    (0.12, 0.36, (0xFF, 0xD4, 0x3B)),
    (0.40, 0.64, (0x24, 0x96, 0xED)),
    (0.68, 0.92, (0x30, 0x69, 0x98)),
)
LEFT, RIGHT, RADIUS = 0.08, 0.92, 0.07
SAMPLES = 4  # points per pixel side: a pixel on an edge gets the share of its points inside


def _colour_at(x, y):
    """The colour at (x, y) in the unit square, or None where the background shows."""
    for top, bottom, colour in SLABS:
        nearest_x = min(max(x, LEFT + RADIUS), RIGHT - RADIUS)  # nearest point of the slab's inner box
        nearest_y = min(max(y, top + RADIUS), bottom - RADIUS)
        if (x - nearest_x) ** 2 + (y - nearest_y) ** 2 <= RADIUS ** 2:
            return colour
    return None


def pixels(size):
    """The logo as ``size`` rows of RGBA bytes, edges smoothed by sampling each pixel several times."""
    rows = []
    for row in range(size):
        line = bytearray()
        for column in range(size):
            hits = [c for c in (_colour_at((column + (i + 0.5) / SAMPLES) / size, (row + (j + 0.5) / SAMPLES) / size)
                                for i in range(SAMPLES) for j in range(SAMPLES)) if c]
            if hits:
                line += bytes(sum(c[k] for c in hits) // len(hits) for k in range(3))
                line.append(255 * len(hits) // SAMPLES ** 2)
            else:
                line += b"\0\0\0\0"
        rows.append(bytes(line))
    return rows


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(size):
    """The logo as the bytes of a ``size`` x ``size`` PNG file."""
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8 bits per sample, colour type 6: RGBA
    data = b"".join(b"\0" + row for row in pixels(size))
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(data, 9)) + _chunk(b"IEND", b"")
