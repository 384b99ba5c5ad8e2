#!/bin/bash
# profile-charts.sh - the SVG charts of `probity profile` render in a real
# browser: headless Chromium parses them without error, lays out the title,
# axis labels (with units), legend, areas and change marks inside the picture
# (measured by a script in the page, read back with --dump-dom), and a
# screenshot at A4 width is not blank.
SCRIPT_NAME=profile-charts
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../browser.sh"
browser_require profile-charts

cd "$TMP" || exit 1
"$PB_BUILD/tools/genfocus" demo --months 8 --end 2025-06 >usage.csv
"$PROBITY" init --unsigned ws >/dev/null
"$PROBITY" ingest -q ws usage.csv
"$PROBITY" customer add ws "Varnia Interior Ministry" --account EA-880412 >/dev/null
# consumption of one unit by sub-account, and the storage series with its change
"$PROBITY" profile ws "Varnia Interior Ministry" --by subaccount,region --unit GB-Months \
	--chart stacked.svg --chart-series series.svg >profile.out 2>profile.err
check "profile wrote the consumption chart" test -s stacked.svg
check "profile wrote the series chart" test -s series.svg
# several units: billed cost by capability and region
"$PROBITY" profile ws "Varnia Interior Ministry" --by capability,region --no-detect \
	--chart cost.svg >/dev/null 2>&1
check "profile wrote the cost chart" test -s cost.svg

# 1. The SVG files parse as XML in the browser.
for f in stacked series cost; do
	chart_parses "$f"
done

# 2. Inline each chart in a page whose script measures what the browser laid
#    out and writes the result into the page.
for f in stacked series cost; do
	chart_measure "$f"
done
has() { grep -qF -- "$2" "$1"; }
# the consumption chart: two sub-accounts, named as stored (pseudonyms here)
check "stacked: 2 legend entries laid out" has stacked.check ".legend-entry 2 laid-out 2"
check "stacked: 2 areas drawn" has stacked.check "path.area 2 laid-out 2"
check "stacked: legend names are stored names (one region: in the title)" \
	bash -c "[ \$(grep -cE '^text: ps:[a-z0-9]+ width ok' stacked.check) = 2 ]"
check "stacked: title" has stacked.check "text: Varnia Interior Ministry: consumption by subaccount (westeurope) width ok"
check "stacked: y axis label with unit" has stacked.check "text: Consumption (GB-Months, monthly total) width ok"
check "stacked: x axis label" has stacked.check "text: Date (UTC) width ok"
check "stacked: 2 axis labels inside" has stacked.check ".axis-label 2 laid-out 2"
check "stacked: title inside" has stacked.check ".chart-title 1 laid-out 1"
check "stacked: tick labels all inside" \
	bash -c "grep -qE '^\.tick-label ([0-9]+) laid-out \1$' stacked.check"
# the series chart: the storage series, its one change marked on 2025-03-01
check "series: the line is drawn" has series.check "path.series-line 1 laid-out 1"
check "series: 1 change marked" has series.check ".change-start 1 laid-out 1"
check "series: its label inside" has series.check ".change-label 1 laid-out 1"
check "series: legend laid out" has series.check ".legend-entry 3 laid-out 3"
check "series: y axis unit" has series.check "text: Consumption (GB-Months a day) width ok"
check "series: change label text" grep -qE "2025-03-01: expected [0-9.]+( k)?, actual" series.svg
check "profile named the driver" \
	grep -qE "shift up +2025-03-01 .*subaccount b21e9d07-45c3-4f8e-8d2a-71c0e5a9f316" profile.out
# the cost chart: six series, every legend entry inside the picture
check "cost: 6 legend entries laid out" has cost.check ".legend-entry 6 laid-out 6"
check "cost: 6 areas" bash -c "grep -qE '^path\.area 6 laid-out [1-6]$' cost.check"
check "cost: y axis in money" has cost.check "text: Billed cost (EUR, monthly total) width ok"
check "cost: legend names the capability" has cost.check "text: speech-to-text width ok"

# 3. Screenshots at A4 width are not blank: many non-white pixels, blue
#    areas or lines, and the red change mark on the series chart.
chart_screenshot series red
chart_screenshot stacked

finish profile-charts
