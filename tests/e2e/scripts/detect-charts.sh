#!/bin/bash
# detect-charts.sh - the SVG charts of `probity detect` render in a real
# browser: headless Chromium parses them without error, lays out the legend,
# axis labels, areas and change marks inside the picture (checked by a script
# in the page, read back with --dump-dom), and a screenshot is not blank.
SCRIPT_NAME=detect-charts
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../browser.sh"
browser_require detect-charts

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
	chart_parses "$f"
done

# 2. Inline each chart in a page whose script measures what the browser laid
#    out and writes the result into the page.
for f in line stacked long; do
	chart_measure "$f"
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
chart_screenshot line red
chart_screenshot stacked

finish detect-charts
