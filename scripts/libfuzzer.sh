#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Run the libFuzzer harnesses of tests/fuzz (ASan and UBSan), each from its committed corpus.
#
#   scripts/libfuzzer.sh [--build DIR] [--ci | --runs N | --time S] [--seed S] [--keep DIR]
#                        [HARNESS...]
#
# --ci      a fixed number of runs per harness, sized for CI (about a minute of CPU in all), seed 1
# --runs N  N runs of each harness
# --time S  S seconds of each harness (default 300), a random seed unless --seed
# --keep    where the new inputs and any crash go (default: a temporary directory, removed
#           when nothing failed); the committed corpus is only read
# HARNESS   conf leap driftfile ctl_proto ctl_client phc (default: all)
#
# The build directory is set up with clang and -Dfuzz=true when it does not exist. A crash
# is printed with the command that replays it; copy the input into tests/fuzz/corpus/NAME/
# (named for what it found) and the suite replays it from then on (meson test fuzz_NAME).
set -euo pipefail
cd "$(dirname "$0")/.."

all=(conf leap driftfile ctl_proto ctl_client phc)
# CI runs: about 15 s of one CPU each; ctl_proto writes and checks three replies a run.
declare -A ci_runs=([conf]=400000 [leap]=250000 [driftfile]=500000 [ctl_proto]=20000
	[ctl_client]=250000 [phc]=250000)

build="build-fuzz"
mode="time"
amount=300
seed=
keep=
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--ci) mode=ci; seed=${seed:-1}; shift ;;
	--runs) mode=runs; amount=$2; shift 2 ;;
	--time) mode="time"; amount=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "libfuzzer.sh: unknown option $1" >&2; exit 3 ;;
	*) break ;;
	esac
done
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")

if [ ! -d "$build" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Dtests=false
fi
targets=()
for h in "${harnesses[@]}"; do
	targets+=("tests/fuzz/fuzz_$h")
done
ninja -C "$build" "${targets[@]}"

work=${keep:-$(mktemp -d /tmp/phcsync-libfuzzer.XXXXXX)}
mkdir -p "$work"
failed=()
for h in "${harnesses[@]}"; do
	exe=$build/tests/fuzz/fuzz_$h
	corpus=tests/fuzz/corpus/$h
	if [ ! -x "$exe" ] || [ ! -d "$corpus" ]; then
		echo "libfuzzer.sh: no harness $h" >&2
		exit 3
	fi
	case $mode in
	ci) limit=(-runs="${ci_runs[$h]}") ;;
	runs) limit=(-runs="$amount") ;;
	time) limit=(-max_total_time="$amount") ;;
	esac
	seed_arg=()
	[ -z "$seed" ] || seed_arg=(-seed="$seed")
	mkdir -p "$work/$h"
	start=$(date +%s)
	# New inputs go to the first directory, never to the committed corpus.
	if "$exe" "${limit[@]}" "${seed_arg[@]}" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/$h-" "$work/$h" "$corpus" \
		>"$work/$h.log" 2>&1; then
		result=ok
	else
		result=FAILED
		failed+=("$h")
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
	cov=$(grep -o 'cov: [0-9]*' "$work/$h.log" | tail -1 || true)
	echo "fuzz_$h: $result, ${runs:-?} runs, ${cov:-cov: ?}, $(($(date +%s) - start)) s"
	if [ "$result" != ok ]; then
		grep -E 'invariant failed|runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' \
			"$work/$h.log" | head -5 || true
		for crash in "$work/$h"-*; do
			[ -e "$crash" ] || continue
			echo "  input: $crash"
			echo "  replay: $exe $crash"
		done
		echo "  log: $work/$h.log"
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "libfuzzer.sh: failed: ${failed[*]} (files kept in $work)" >&2
	exit 1
fi
[ -n "$keep" ] || rm -rf "$work"
