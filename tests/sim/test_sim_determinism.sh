#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Same scenario and seed: same trace and same program output, byte for byte; another
# seed: a different trace. Usage: test_sim_determinism.sh PHCSIM SIM_PROBE SCENARIO
set -u
phcsim=$1 probe=$2 scn=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for run in 1 2; do
	"$phcsim" -s "$scn" -t "$tmp/trace$run" -- "$probe" >"$tmp/out$run" 2>"$tmp/err$run" ||
		fail "run $run exited non-zero: $(cat "$tmp/err$run")"
done
cmp "$tmp/trace1" "$tmp/trace2" || fail "traces differ"
cmp "$tmp/out1" "$tmp/out2" || fail "program outputs differ"
"$phcsim" -s "$scn" --seed 8 -t "$tmp/trace3" -- "$probe" >/dev/null 2>&1 ||
	fail "run with seed 8 failed"
cmp -s "$tmp/trace1" "$tmp/trace3" && fail "seed 8 gave the same trace as seed 7"

# The trace covers the scenario: a tick per second, the end, every event kind.
ticks=$(grep -c '"type":"tick"' "$tmp/trace1")
[ "$ticks" -ge 61 ] || fail "only $ticks ticks for 60 s"
for what in '"type":"end"' '"event":"leap"' '"type":"kernel_leap"' '"event":"suspend"' \
	'"event":"resume"' '"event":"phc_return"' '"event":"phc_error"' '"call":"clock_adjtime"' \
	'"step_ns":' '"event":"phc_step"' '"event":"phc_freq"' '"event":"sys_freq_step"' \
	'"event":"phc_remove"' '"event":"phc_error_end"' '"event":"phc_freeze"' \
	'"event":"phc_freeze_end"' '"event":"phc_backstep"' '"event":"phc_backstep_end"' \
	'"event":"phc_delay_spike"' '"event":"phc_delay_spike_end"' \
	'"errno":"Interrupted system call"'; do
	grep -q "$what" "$tmp/trace1" || fail "trace lacks $what"
done
grep -q "stopped by SIGTERM" "$tmp/out1" || fail "program was not stopped by SIGTERM"
# The injected device error (25 s to 28 s) reached the program.
grep -q "basic: Input/output error" "$tmp/out1" || fail "phc_error EIO never seen"
grep -q "gettime: Interrupted system call" "$tmp/out1" || fail "phc_error EINTR never seen"
echo "ok"
