#!/bin/bash
# detect-charts.sh - the SVG charts of `probity detect` render in a real
# browser: headless Chromium parses them without error, lays out the legend,
# axis labels, areas and change marks inside the picture (checked by a script
# in the page, read back with --dump-dom), and a screenshot is not blank.
SCRIPT_NAME=detect-charts
. "$(dirname "$0")/../lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	fail "chromium is not installed (tools/deps.sh installs the Debian package)"
	finish detect-charts
	exit 0
fi

# Each run gets a fresh profile; every flag keeps Chromium off the network.
chrome() {
	local profile
	profile=$(mktemp -d "$TMP/chromium.XXXXXX")
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$profile" "$@" 2>"$profile.err"
}

cd "$TMP" || exit 1
"$PROBITY" detect --title "Storage in westeurope" --label Storage --unit TB-Months \
	--chart line.svg --chart-stacked stacked.svg "$DATA/detect/storage.csv" >detect.out
check "probity detect wrote both charts" test -s line.svg -a -s stacked.svg
# The same series under long names (wide capitals, past any cut): the legend
# must still fit the picture.
sed '1s/.*/date,WWW MICROSOFT DEFENDER FOR CLOUD WORKLOADS WESTEUROPE,MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM,sub-analytics/' \
	"$DATA/detect/storage.csv" >long.csv
"$PROBITY" detect --label Storage --chart-stacked long.svg long.csv >/dev/null
check "probity detect wrote the long-name chart" test -s long.svg

# 1. The SVG files parse as XML in the browser.
for f in line stacked; do
	chrome --dump-dom "file://$TMP/$f.svg" >"$f.dom"
	check "$f.svg: chromium dumped its DOM" grep -q '<svg' "$f.dom"
	check "$f.svg: no XML parse error" bash -c "! grep -q parsererror $f.dom"
done

# 2. Inline each chart in a page whose script measures what the browser laid
#    out and writes the result into the page.
page() { # svg-file -> html on stdout
	cat <<'EOF'
<!DOCTYPE html><html><head><meta charset="utf-8"><title>chart check</title></head><body>
EOF
	sed '1{/^<?xml/d}' "$1"
	cat <<'EOF'
<pre id="result"></pre>
<script>
const svg = document.querySelector('svg');
const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
const inside = b => b.width > 0 && b.height > 0 && b.x >= -1 && b.y >= -1 &&
                    b.x + b.width <= W + 1 && b.y + b.height <= H + 1;
const out = [];
const S = svg.getBoundingClientRect();
/* where the browser put an element, in the picture's coordinates (after
 * transforms such as the rotated y label) */
const box = e => { const r = e.getBoundingClientRect();
                   return { x: r.left - S.left, y: r.top - S.top, width: r.width, height: r.height }; };
const count = (sel, ok) => {
  const els = [...svg.querySelectorAll(sel)];
  out.push(sel + ' ' + els.length + ' laid-out ' + els.filter(e => ok(box(e))).length);
};
count('.legend-entry', inside);
count('.axis-label', inside);
count('.tick-label', inside);
count('.chart-title', inside);
count('path.area', b => b.width > 100 && b.height > 10);
count('path.series-line', b => b.width > 100 && b.height > 10);
count('.change-start', b => b.height > 50);
count('.change-label', inside);
for (const t of svg.querySelectorAll('.axis-label, .legend-entry text'))
  out.push('text: ' + t.textContent + ' width ' + (t.getComputedTextLength() > 10 ? 'ok' : 'zero'));
document.getElementById('result').textContent = out.join('\n');
</script></body></html>
EOF
}
for f in line stacked long; do
	page "$f.svg" >"$f.html"
	chrome --dump-dom "file://$TMP/$f.html" >"$f.check"
done
has() { grep -qF -- "$2" "$1"; }
check "stacked: 3 legend entries laid out" has stacked.check ".legend-entry 3 laid-out 3"
check "long names: 3 legend entries inside the picture" has long.check ".legend-entry 3 laid-out 3"
check "stacked: 3 areas drawn" has stacked.check "path.area 3 laid-out 3"
check "stacked: 2 axis labels inside" has stacked.check ".axis-label 2 laid-out 2"
check "stacked: title inside" has stacked.check ".chart-title 1 laid-out 1"
check "stacked: y axis label with unit" has stacked.check "text: Storage (TB-Months) width ok"
check "stacked: x axis label" has stacked.check "text: Date (UTC) width ok"
for s in sub-web sub-archive sub-analytics; do
	check "stacked: legend names $s" has stacked.check "text: $s width ok"
done
check "stacked: tick labels all inside" \
	bash -c "grep -qE '^\.tick-label ([0-9]+) laid-out \1$' stacked.check"
check "line: the series is drawn" has line.check "path.series-line 1 laid-out 1"
check "line: 2 changes marked" has line.check ".change-start 2 laid-out 2"
check "line: 2 change labels inside" has line.check ".change-label 2 laid-out 2"
check "line: legend" has line.check ".legend-entry 3 laid-out 3"
check "line: expected in the legend" has line.check "text: expected width ok"
check "line: change label text" grep -qE "2024-06-10: expected [0-9.]+, actual" line.svg
check "detect named the driver" grep -qE "2024-06-10 +shift +up .*sub-archive" detect.out

# 3. Screenshots at A4 width are not blank: many non-white pixels, and the
#    chart colours are there (blue areas or line, red change marks).
for f in line stacked; do
	chrome --screenshot="$TMP/$f.png" --window-size=760,360 "file://$TMP/$f.svg" >/dev/null
	check "$f.png written" test -s "$f.png"
done
pngcheck() { # file kind -> prints "ok" when the picture has what it should
	python3 - "$1" "$2" <<'EOF'
import struct, sys, zlib
path, kind = sys.argv[1], sys.argv[2]
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
ok = (w, h) == (760, 360) and nonwhite > 0.03 * total and blue > 200
if kind == 'line': ok = ok and red > 50
print('ok' if ok else 'bad: %dx%d nonwhite %d blue %d red %d' % (w, h, nonwhite, blue, red))
EOF
}
for f in line stacked; do
	res=$(pngcheck "$f.png" "$f" 2>&1)
	if [ "$res" = ok ]; then ok; else fail "$f.png: $res"; fi
done

finish detect-charts
