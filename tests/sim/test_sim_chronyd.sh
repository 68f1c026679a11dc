#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Acceptance: Debian's chronyd, unpacked by 'scripts/deps.sh --peers' and never installed,
# disciplines the simulated CLOCK_REALTIME from /dev/ptp0 under phcsim: it steps once,
# then slews and locks, every clock call it makes is simulated (CAP_SYS_TIME is gone,
# the trace records its adjustments), and a second run gives the same trace.
# Usage: test_sim_chronyd.sh PHCSIM SCENARIO. Skipped without that chronyd
# (PHCSYNC_CHRONYD names another).
set -u
phcsim=$1 scn=$2
chronyd=${PHCSYNC_CHRONYD:-${PHCSYNC_PEERS:-/var/cache/phcsync-peers}/chrony/usr/sbin/chronyd}
[ -x "$chronyd" ] || { echo "no $chronyd (scripts/deps.sh --peers): skipped"; exit 77; }
[ -e /usr/share/zoneinfo/right/UTC ] || { echo "no right/UTC (tzdata): skipped"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; tail -20 "$tmp/err"; exit 1; }

# Nothing outside $tmp: no command port or socket, no drift or log files, our pidfile.
cat >"$tmp/chrony.conf" <<CONF
refclock PHC /dev/ptp0 poll 0 dpoll -2
leapsectz right/UTC
makestep 1 3
cmdport 0
bindcmdaddress /
port 0
pidfile $tmp/chronyd.pid
CONF
# -d: foreground, log to stderr; -u root: no switch to a user this machine may lack;
# -F 0: no seccomp filter; -U: no refusal when not root (a build server). Never -x:
# chronyd is to steer the simulated clock.
"$phcsim" -s "$scn" -t "$tmp/trace" --report -- \
	"$chronyd" -d -U -u root -F 0 -f "$tmp/chrony.conf" >"$tmp/out" 2>"$tmp/err" ||
	fail "chronyd or the harness failed"
grep -q "Selected source PHC0" "$tmp/err" || fail "chronyd never selected the PHC"
# chronyd says so when it starts as root; as another user it never held the capability
# (phcsim clears it from every set, test_sim_safety.sh).
if [ "$(id -u)" -eq 0 ]; then
	grep -q "CAP_SYS_TIME not present" "$tmp/err" || fail "chronyd ran with CAP_SYS_TIME"
fi
# Its adjustments are in the trace and all succeeded (simulated): frequency, and one step.
nfreq=$(grep -c '"type":"adj".*"freq_ppb"' "$tmp/trace")
[ "$nfreq" -gt 100 ] || fail "only $nfreq frequency adjustments traced"
grep '"type":"adj"' "$tmp/trace" | grep -q '"ret":-' && fail "a clock call was refused"
grep -q "steps: 1, largest -200[0-9]\{7\} ns" "$tmp/err" || fail "expected one step of -2 s"
rms=$(sed -n 's/.*last half: rms \([0-9]*\) ns.*/\1/p' "$tmp/err")
max=$(sed -n 's/.*last half: rms [0-9]* ns, max |offset| \([0-9]*\) ns.*/\1/p' "$tmp/err")
if ! { [ -n "$rms" ] && [ "$rms" -lt 1000 ]; }; then
	fail "true RMS offset over the last half: '$rms' ns"
fi
if ! { [ -n "$max" ] && [ "$max" -lt 5000 ]; }; then
	fail "true max |offset| over the last half: '$max' ns"
fi
# The same scenario and seed give the same trace (its timers' randomness is the seed's).
"$phcsim" -s "$scn" -t "$tmp/trace2" -- \
	"$chronyd" -d -U -u root -F 0 -f "$tmp/chrony.conf" >/dev/null 2>&1 || fail "the second run failed"
cmp -s "$tmp/trace" "$tmp/trace2" || fail "two runs gave different traces"
echo "ok: rms $rms ns, max $max ns, $nfreq frequency adjustments"
