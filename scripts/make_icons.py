#!/usr/bin/env python3
"""Draws paicha's icon (crates/web/assets/core/icon.svg: a red rounded square with a white tick)
as the PNGs phones want and the favicon.ico browsers ask for, with nothing but the standard
library. Run it again after changing the SVG's shapes here and there.

    python3 scripts/make_icons.py
"""

import math
import pathlib
import struct
import zlib

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/web/assets/core"
RED = (0xC8, 0x16, 0x1D)
WHITE = (0xFF, 0xFF, 0xFF)
# In the SVG's 512-unit box: the square's corner radius, the tick's points and its width.
RADIUS = 96
TICK = [(140, 300), (220, 380), (380, 180)]
STROKE = 48
SAMPLES = 4  # per axis, for smooth edges


def segment_distance(p, a, b):
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def inside_square(x, y):
    cx = min(max(x, RADIUS), 512 - RADIUS)
    cy = min(max(y, RADIUS), 512 - RADIUS)
    return math.hypot(x - cx, y - cy) <= RADIUS


def on_tick(x, y):
    return any(segment_distance((x, y), a, b) <= STROKE / 2 for a, b in zip(TICK, TICK[1:]))


def render(size):
    """RGBA rows of the icon at `size` pixels."""
    rows = []
    scale = 512 / size
    for j in range(size):
        row = bytearray()
        for i in range(size):
            cover = tick = 0
            for sj in range(SAMPLES):
                for si in range(SAMPLES):
                    x = (i + (si + 0.5) / SAMPLES) * scale
                    y = (j + (sj + 0.5) / SAMPLES) * scale
                    if inside_square(x, y):
                        cover += 1
                        tick += on_tick(x, y)
            n = SAMPLES * SAMPLES
            if cover == 0:
                row += bytes(4)
                continue
            w = tick / cover
            rgb = [round(r * (1 - w) + v * w) for r, v in zip(RED, WHITE)]
            row += bytes(rgb + [round(255 * cover / n)])
        rows.append(bytes(row))
    return rows


def png(size):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + row for row in render(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def ico(images):
    """An .ico holding PNG images (every browser reads PNG inside ICO)."""
    head = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, data = b"", b""
    for size, body in images:
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(body), offset)
        offset += len(body)
        data += body
    return head + entries + data


def main():
    for size, name in [(180, "apple-touch-icon.png"), (192, "icon-192.png"), (512, "icon-512.png")]:
        (OUT / name).write_bytes(png(size))
    (OUT / "favicon.ico").write_bytes(ico([(32, png(32)), (16, png(16))]))
    print(f"icons written to {OUT}")


if __name__ == "__main__":
    main()
