#!/usr/bin/env python3
"""png_check.py PNG WIDTH HEIGHT [red] - a chart screenshot is not blank.

Prints "ok" when the PNG (8-bit RGB or RGBA, not interlaced; what chromium
writes) is WIDTH x HEIGHT, more than 3% of its pixels are not white, more
than 200 are blue (areas or lines) and, with "red", more than 50 are red
(change marks); otherwise "bad: ..." with the counts. Standard library only.
"""
import struct
import sys
import zlib

path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want_red = len(sys.argv) > 4 and sys.argv[4] == "red"
data = open(path, 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w = 8, b'', 0
while pos < len(data):
    n, typ = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if typ == b'IHDR':
        w, h, depth, ctype, _, _, inter = struct.unpack('>IIBBBBB', body)
        assert depth == 8 and ctype in (2, 6) and inter == 0, 'unexpected PNG format'
        bpp = 3 if ctype == 2 else 4
    elif typ == b'IDAT':
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
nonwhite = blue = red = 0
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        r, g, bl = line[x], line[x + 1], line[x + 2]
        if r < 235 or g < 235 or bl < 235: nonwhite += 1
        if bl > 130 and bl > r + 40: blue += 1
        if r > 180 and g < 140 and bl < 140: red += 1
    prev = line
total = w * h
ok = (w, h) == (want_w, want_h) and nonwhite > 0.03 * total and blue > 200
if want_red:
    ok = ok and red > 50
print('ok' if ok else 'bad: %dx%d nonwhite %d blue %d red %d' % (w, h, nonwhite, blue, red))
