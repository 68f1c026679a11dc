#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Acceptance: Debian's phc2sys locks CLOCK_REALTIME to the simulated KVM PHC and exits on
# the scenario's SIGTERM. Usage: test_sim_phc2sys.sh PHCSIM. Skipped without phc2sys.
set -u
phcsim=$1
phc2sys=/usr/sbin/phc2sys
[ -x "$phc2sys" ] || { echo "no $phc2sys: skipped"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; cat "$tmp/err"; exit 1; }

"$phcsim" --builtin kvm-hour --duration 600 --report -- \
	"$phc2sys" -s /dev/ptp0 -c CLOCK_REALTIME -O 0 -m >"$tmp/out" 2>"$tmp/err" ||
	fail "phc2sys or the harness failed"
grep -q "s2 freq" "$tmp/out" || fail "phc2sys never reached the locked state"
rms=$(sed -n 's/.*last half: rms \([0-9]*\) ns.*/\1/p' "$tmp/err")
[ -n "$rms" ] && [ "$rms" -lt 1000 ] || fail "true RMS offset over the last half: '$rms' ns"
grep -q "steps: 1," "$tmp/err" || fail "expected exactly one step"
echo "ok: rms $rms ns"
