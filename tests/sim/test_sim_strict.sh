#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# phcsyncd under phcsim --strict, which behaves like an independent LD_PRELOAD clock
# simulator: an fd that is neither a socket nor a device is readable at once in poll (time
# would never pass), access()/stat() of /dev/ptp0 go to the host (where it does not exist),
# and CLOCK_BOOTTIME and CLOCK_TAI fail with EINVAL. The daemon must still lock, follow the
# scenario's +0.5 s jump with one step, say once that suspend detection is off, and exit
# cleanly at the end. A control program that polls a pipe must be stopped as a spinner.
# Usage: test_sim_strict.sh PHCSIM PHCSYNCD SCENARIO
set -u
phcsim=$1
daemon=$2
scn=$3
tmp=$(mktemp -d /tmp/phcsync-strict.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() {
	echo "FAIL: $*"
	fail=1
}
cat >"$tmp/conf" <<CONF
device /dev/ptp0
control_socket $tmp/ctl.sock
leapfile none
summary_interval 0
CONF

"$phcsim" --strict -s "$scn" --report -t "$tmp/trace" -- "$daemon" -n -f "$tmp/conf" \
	>"$tmp/out" 2>"$tmp/err"
st=$?
[ "$st" -eq 0 ] || bad "phcsyncd exit status $st"
grep -q 'state .* -> locked' "$tmp/err" || bad "never locked"
steps=$(sed -n 's/.*steps: \([0-9]*\),.*/\1/p' "$tmp/err")
[ "$steps" = 2 ] || bad "steps: '$steps', expected 2 (the start and the jump)"
# The clock follows the PHC, which the host moved 0.5 s away from true UTC.
max=$(sed -n 's/.*last half: rms [0-9]* ns, max |offset| \([0-9]*\) ns.*/\1/p' "$tmp/err")
[ -n "$max" ] && [ "$max" -gt 499980000 ] && [ "$max" -lt 500020000 ] ||
	bad "max |offset| over the last half: '$max' ns, expected 0.5 s +- 20 us"
n=$(grep -c 'CLOCK_BOOTTIME' "$tmp/err")
[ "$n" -eq 1 ] || bad "$n lines about CLOCK_BOOTTIME, expected 1"
grep -q 'suspend detection is off' "$tmp/err" || bad "no word that suspend detection is off"
grep -q 'resumed after' "$tmp/err" && bad "a made-up resume"

# The switch itself: a poll on a pipe returns at once, for ever, and the spin is stopped.
py=/usr/bin/python3
if [ -x "$py" ]; then
	"$phcsim" --strict --duration 60 -- "$py" -c 'import os, select
r, w = os.pipe()
p = select.poll()
p.register(r, select.POLLIN)
for i in range(200000):
	p.poll(1000)' >"$tmp/spin.out" 2>&1
	st=$?
	[ "$st" -eq 2 ] && grep -q 'the program spins' "$tmp/spin.out" ||
		bad "a poll on a pipe was not answered at once and stopped (exit $st)"
else
	echo "no $py: the spin check is left out"
fi

if [ "$fail" -ne 0 ]; then
	echo "--- phcsyncd"
	cat "$tmp/err"
fi
[ "$fail" -eq 0 ] && echo "PASS: locked, $steps steps, max |offset| $max ns over the last half"
exit "$fail"
