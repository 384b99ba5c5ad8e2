# bench/ratio.sh - sourced by benches that report probity against a peer as
# one line each on stdout and one member of the JSON object in $out:
#   line NAME PROBITY PEER UNIT
# (the caller writes the opening "{" and closes the object).
line() {
	local r
	r=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", a / b }')
	echo "$1: probity $2 $4, peer $3 $4, ratio $r"
	printf '  "%s": {"probity": %s, "peer": %s, "unit": "%s", "ratio": %s},\n' "$1" "$2" "$3" "$4" "$r" >> "$out"
}
