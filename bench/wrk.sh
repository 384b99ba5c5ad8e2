# bench/wrk.sh - the wrk measurement both gateway benches use (bench/serve and
# bench/nginx-module): one run, its figures, and a peer-vs-ours comparison.
# Source it, then set before compare():
#   DUR      seconds per wrk run (default 10)
#   RUNS     measured runs of each side (default 3), after one warm-up each
#   OURS     the word for our side in the report ("probity", "module")
#   RESULTS  the JSON-lines file each comparison appends to
#   DENY_OK  the name of the comparison whose non-2xx answers are expected
# shellcheck shell=bash

run() { timeout $((${DUR:-10} + 10)) wrk -t2 -c50 -d${DUR:-10}s --latency "$@" 2>&1; }
rps() { sed -nE 's/^Requests\/sec: +([0-9.]+)/\1/p'; }
p99() { sed -nE 's/^ +99% +([0-9.]+)(us|ms|s)$/\1 \2/p' | awk '{v=$1; if($2=="ms")v*=1000; if($2=="s")v*=1e6; print v}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# CPU time (user + system, clock ticks) of every thread of the given pids.
cpu_ticks() { local t=0 f a; for p in "$@"; do for f in /proc/$p/task/*/stat; do
	a=($(sed 's/^.*) //' "$f" 2>/dev/null)); t=$((t + ${a[11]:-0} + ${a[12]:-0})); done; done; echo $t; }
# The master and worker pids of the nginx whose prefix is $1.
ngx_pids() { echo "$(cat "$1/nginx.pid") $(pgrep -P "$(cat "$1/nginx.pid")" | tr '\n' ' ')"; }
TICK=$(getconf CLK_TCK)
# one wrk run; prints "rps p99_us cpu_us_per_request" (CPU of the pids given)
measure() { local pids=$1; shift
	local c0 c1 o n; c0=$(cpu_ticks $pids); o=$(run "$@"); c1=$(cpu_ticks $pids)
	grep -q 'Non-2xx' <<<"$o" && [ "$NAME" != "${DENY_OK:-}" ] && echo "  warning: non-2xx answers in $NAME" >&2
	n=$(sed -nE 's/^ +([0-9]+) requests in.*/\1/p' <<<"$o")
	echo "$(rps <<<"$o") $(p99 <<<"$o") $(python3 -c "print(round(($c1 - $c0) * 1e6 / $TICK / max($n, 1), 2))")"
}
compare() { # name, peer pids, our pids, peer-args..., --, our-args...
	NAME=$1; local ppids=$2 opids=$3; shift 3
	local peer=() ours=()
	while [ "$1" != -- ]; do peer+=("$1"); shift; done; shift; ours=("$@")
	run "${peer[@]}" >/dev/null; run "${ours[@]}" >/dev/null # warm-up
	local pr=() orr=() pp=() op=() pc=() oc=() x
	for i in $(seq "${RUNS:-3}"); do
		read -r -a x < <(measure "$ppids" "${peer[@]}"); pr+=("${x[0]}"); pp+=("${x[1]}"); pc+=("${x[2]}")
		read -r -a x < <(measure "$opids" "${ours[@]}"); orr+=("${x[0]}"); op+=("${x[1]}"); oc+=("${x[2]}")
	done
	local a b c d e f
	a=$(printf '%s\n' "${orr[@]}" | median); b=$(printf '%s\n' "${pr[@]}" | median)
	c=$(printf '%s\n' "${op[@]}" | median); d=$(printf '%s\n' "${pp[@]}" | median)
	e=$(printf '%s\n' "${oc[@]}" | median); f=$(printf '%s\n' "${pc[@]}" | median)
	echo "$NAME: $OURS $a req/s, peer $b req/s, ratio $(python3 -c "print(round($a/$b,3))") (runs: ${orr[*]} vs ${pr[*]}); p99 $OURS ${c} us, peer ${d} us, ratio $(python3 -c "print(round($c/$d,2))")"
	echo "$NAME-cpu: $OURS $e us/request, peer $f us/request, ratio $(python3 -c "print(round($e/$f,3))") (CPU of the servers in the chain; runs: ${oc[*]} vs ${pc[*]})"
	printf '{"name":"%s","%s_rps":%s,"peer_rps":%s,"%s_p99_us":%s,"peer_p99_us":%s,"%s_cpu_us":%s,"peer_cpu_us":%s}\n' \
		"$NAME" "$OURS" "$a" "$b" "$OURS" "$c" "$d" "$OURS" "$e" "$f" >>"$RESULTS"
}
