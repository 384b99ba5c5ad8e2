#!/bin/sh
# fuzz.sh SECONDS - build every fuzz target with clang's libFuzzer (ASan+UBSan)
# and run each for SECONDS, starting from its committed seed corpus. New
# inputs go to build/fuzz/corpus/<target>/ (not committed); crashes to
# build/fuzz/artifacts/. Run from the repository root (make fuzz does).
set -eu
T=${1:-60}
# clang is for fuzzing only, so make deps does not install it; fetch it here
if ! command -v clang >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "fuzz: installing clang"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null
	else
		echo "fuzz: needs clang (apt-get install clang)"; exit 2
	fi
fi
make --no-print-directory VARIANT=fuzz CC=clang fuzzers
mkdir -p build/fuzz/artifacts
status=0
for bin in build/fuzz/fuzz/fuzz_*; do
	name=${bin##*/fuzz_}
	mkdir -p "build/fuzz/corpus/$name"
	echo "fuzz: $name for ${T}s"
	if ! "$bin" -max_total_time="$T" -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/"$name"- \
		"build/fuzz/corpus/$name" "fuzz/corpus/$name" 2>build/fuzz/"$name".log; then
		echo "fuzz: $name FAILED; see build/fuzz/$name.log and build/fuzz/artifacts/"
		status=1
	fi
	grep -E 'stat::number_of_executed_units|stat::new_units_added' build/fuzz/"$name".log | sed 's/^/  /'
done
exit $status
