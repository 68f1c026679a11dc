#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The PHC fault events of scenarios/phc-events.scn as a program sees them through
# sim_probe: a freeze (every read the same value, then 3 s behind), reads that step the
# PHC back (later reads earlier), a readout delay spike (longer windows), a 5 % frequency
# error, EINTR, and a freeze longer than the run. (test_sim_determinism.sh runs every
# event kind twice for determinism.)
# Usage: test_sim_events.sh PHCSIM SIM_PROBE SCENARIO
set -u
phcsim=$1 probe=$2 scn=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$phcsim" -s "$scn" -t "$tmp/trace1" -- "$probe" >"$tmp/out1" 2>"$tmp/err1" ||
	fail "the run exited non-zero: $(cat "$tmp/err1")"

for what in '"event":"phc_freeze","dev":0,"until":8}' '"event":"phc_freeze_end","dev":0,"offset_ns":-3000000000}' \
	'"event":"phc_backstep","dev":0,"step_ns":1000000,"until":14}' \
	'"event":"phc_backstep_end","dev":0,"offset_ns":' \
	'"event":"phc_delay_spike","dev":0,"until":20,"delay_ns":20000000}' \
	'"event":"phc_delay_spike_end","dev":0}' '"errno":"Interrupted system call","until":32}' \
	'"event":"phc_freq","dev":0,"freq_ppb":50000000.000}' \
	'"event":"phc_freeze","dev":0,"until":3635}'; do
	grep -qF "$what" "$tmp/trace1" || fail "trace lacks $what"
done
[ "$(grep -c '"phc_freeze_end"' "$tmp/trace1")" -eq 1 ] ||
	fail "the freeze beyond the end of the run ended"

# Each probe iteration prints "I mono NS", then "I basic REAL PHC REAL", "I precise PHC
# REAL" and "I gettime REAL PHC REAL". Nanoseconds since 1970 do not fit a double, so
# only their last 12 digits are used; t is seconds since the start (MONOTONIC from 1000 s).
awk '
function ns(s) { return substr(s, length(s) - 11) + 0 }
function diff(a, b,   d) { d = ns(a) - ns(b); if (d > 5e11) d -= 1e12; if (d < -5e11) d += 1e12; return d }
function bad(msg) { print "FAIL: " msg; failed = 1 }
function in_(lo, hi) { return t > lo && t < hi }
$2 == "mono" { t = ($3 - 1000e9) / 1e9; next }
$2 == "basic" && NF == 5 { basic = $4; if (in_(5.05, 7.95)) frozen[$4] = 1 }
$2 == "precise" && NF == 4 && in_(5.05, 7.95) { frozen[$3] = 1 }
$2 == "gettime:" && $3 == "Interrupted" && in_(30.05, 31.95) { eintr++ }
$2 == "gettime" && NF == 5 {
	off = diff($4, $3) / 1e9    # PHC - REALTIME, s
	win = diff($5, $3) / 1e9    # the read window, s
	if (in_(2.5, 4.95)) { before = off; nbefore++ }
	if (in_(5.05, 7.95)) { frozen[$4] = 1; nfrozen++ }
	if (in_(8.05, 11.95)) { if (off - before > -2.999 || off - before < -3.001) bad("t " t ": PHC - REALTIME " off " s after the freeze, not 3 s below " before); after = off }
	if (in_(12.05, 13.95)) { nback++; if (diff($4, basic) >= 0) bad("t " t ": a read during phc_backstep is not earlier than the one before it") }
	if (in_(14.05, 17.95)) {
		if (after - off < 0.015) bad("t " t ": PHC - REALTIME " off " s, not 15 ms or more below " after " after the backsteps")
		if (!nstill++) still = off
		if (off - still > 0.001 || still - off > 0.001) bad("t " t ": the backsteps did not last")
	}
	if (in_(18.05, 19.95)) { nspike++; if (win < 0.02) bad("t " t ": window " win " s during the delay spike") }
	if (in_(14.05, 17.95) && win > 0.001) bad("t " t ": window " win " s without a spike")
	if (in_(24.05, 29.95)) { if (!nfast++) { fast0 = off; t0 = t } fast1 = off; t1 = t }
	if (t > 35.05) { last[$4] = 1; nlast++ }
}
END {
	n = 0; for (v in frozen) n++
	if (nbefore < 2 || nfrozen < 2 || nback < 2 || nstill < 2 || nspike < 2 || nfast < 2 || nlast < 2) bad("too few reads in a window: " nbefore " " nfrozen " " nback " " nstill " " nspike " " nfast " " nlast)
	if (n != 1) bad(n " different PHC values during the freeze")
	n = 0; for (v in last) n++
	if (n != 1) bad(n " different PHC values during the last freeze")
	rate = (fast1 - fast0) / (t1 - t0)
	if (rate < 0.049 || rate > 0.051) bad("the PHC gains " rate " s/s on REALTIME with a 5 % frequency error")
	if (eintr < 3) bad("only " eintr " reads failed with EINTR")
	exit failed
}' "$tmp/out1" || fail "the program saw the events wrong (above)"
echo "ok"
