# SPDX-License-Identifier: BSD-2-Clause
# The guest suite's cases, sourced by the guest's /init (busybox sh). Each case_NAME runs
# phcsyncd against /dev/ptp0 (the igb PHC), moves the PHC with guest_inject, and judges by
# guest_probe's record alone (REALTIME - PHC, see guest_probe.c); its last line is
# "GUEST-RESULT PASS|FAIL|SKIP ...". Figures are printed as "FIG name value".
#
# The probe's record /tmp/p.log holds P lines (samples every 50 ms) and M lines (marks).
# `set -- $(stats ...)` splits the figures into fields on purpose:
# shellcheck disable=SC2046

DEV=/dev/ptp0
fails=0
fail() {
	echo "CHECK FAIL: $*"
	fails=$((fails + 1))
}
ok() {
	echo "CHECK ok: $*"
}
mark() {
	guest_probe mark "$1" >>/tmp/p.log
}
nap() { # seconds of guest time
	sleep "$1"
}

# The daemon's configuration: seccomp and an unprivileged user on every case.
conf() {
	cat >/tmp/phcsyncd.conf <<CONF
device ${device:-$DEV}
seccomp yes
user phcsync
control_socket /run/phcsyncd/phcsyncd.sock
leapfile ${leapfile:-none}
summary_interval ${summary:-0}
wait_for_device no
${extra_conf:-}
CONF
}
start_daemon() {
	conf
	mkdir -p /run/phcsyncd
	chown phcsync:phcsync /run/phcsyncd
	mark daemon-start
	phcsyncd -n -f /tmp/phcsyncd.conf >/tmp/d.log 2>&1 &
	dpid=$!
}
# Ends the daemon with SIGTERM: it must still be alive (no SIGSYS) and exit 0.
stop_daemon() {
	if kill -0 "$dpid" 2>/dev/null; then
		kill -TERM "$dpid"
		wait "$dpid"
		st=$?
		[ "$st" -eq 0 ] && ok "daemon exit 0 on SIGTERM" || fail "daemon exit status $st"
	else
		wait "$dpid"
		fail "daemon died early, status $? (159 = SIGSYS)"
	fi
	grep -q 'SIGSYS' /tmp/d.log && fail "the daemon's log names SIGSYS/seccomp"
	dmesg | grep -q 'audit.*type=1326\|SIGSYS' && fail "the kernel logged a seccomp kill"
	echo "--- daemon log"
	cat /tmp/d.log
	echo "---"
}
start_probe() {
	: >/tmp/p.log
	guest_probe $DEV 0 50 >>/tmp/p.log &
	probe_pid=$!
}
stop_probe() {
	kill "$probe_pid"
	wait "$probe_pid" 2>/dev/null
}
result() {
	if [ "$fails" -eq 0 ]; then
		echo "GUEST-RESULT PASS"
	else
		# The probe's whole record, so that a failure can be read from the log.
		echo "--- probe record"
		cat /tmp/p.log
		echo "GUEST-RESULT FAIL ($fails checks)"
	fi
}

# stats FROM_MARK FROM_S TO_S: over the samples FROM_S..TO_S seconds after a mark:
# "N MAXABS_NS RMS_NS MEAN_NS SLOPE_RAW_PPM"
stats() {
	awk -v m="$1" -v a="$2" -v b="$3" '
		function root(x,  r, i) { r = x > 1 ? x : 1; for (i = 0; i < 60; i++) r = (r + x / r) / 2; return r }
		$1 == "M" && $3 == m { t0 = $2 }
		$1 == "P" && t0 != "" && $2 >= t0 + a * 1000 && $2 <= t0 + b * 1000 {
			n++; o = $3; s += o; ss += o * o; if (o < 0) o = -o; if (o > mx) mx = o
			if (n == 1) { r0 = $7; m0 = $2 } r1 = $7; m1 = $2 }
		END { if (n == 0) { print "0 -1 -1 0 0"; exit }
			slope = (m1 > m0) ? (r1 - r0) / (m1 - m0) : 0
			printf "%d %.0f %.0f %.0f %.1f\n", n, mx, root(ss / n), s / n, slope }' /tmp/p.log
}
# jumps FROM_MARK FROM_S TO_S NS: how many times the offset moves by NS or more from one
# sample to the next, counting each sample FROM_S..TO_S seconds after the mark against the
# one before it (which may precede the mark: a fault injected right after a mark shows in
# the first sample after it).
jumps() {
	awk -v m="$1" -v a="$2" -v b="$3" -v j="$4" '
		$1 == "M" && $3 == m { t0 = $2 }
		$1 == "P" {
			if (have && t0 != "" && $2 >= t0 + a * 1000 && $2 <= t0 + b * 1000) {
				d = $3 - prev; if (d < 0) d = -d; if (d >= j) n++ }
			prev = $3; have = 1 }
		END { print n + 0 }' /tmp/p.log
}
# settle FROM_MARK NS: seconds after the mark until |offset| <= NS for good (-1: never).
settle() {
	awk -v m="$1" -v j="$2" '
		$1 == "M" && $3 == m { t0 = $2; last = -1 }
		$1 == "P" && t0 != "" && $2 >= t0 {
			o = $3; if (o < 0) o = -o
			if (o > j) { last = $2; good = 0 } else if (!good) { good = 1; first = $2 } }
		END { if (!good) print -1; else printf "%.2f\n", (first - t0) / 1000 }' /tmp/p.log
}
# check_le NAME VALUE LIMIT: VALUE <= LIMIT (integers or decimals)
check_le() {
	echo "FIG $1 $2 (limit $3)"
	if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v + 0 <= l + 0 && v + 0 >= 0) }'; then
		ok "$1 $2 <= $3"
	else
		fail "$1 $2 > $3 (or negative: never)"
	fi
}
check_eq() {
	echo "FIG $1 $2"
	[ "$2" = "$3" ] && ok "$1 = $3" || fail "$1 = $2, expected $3"
}
# Locked steady state: bound on |REALTIME - PHC| in ns (measured: see README).
LOCK_NS=${LOCK_NS:-5000}
steady() { # MARK FROM TO LABEL
	set -- "$1" "$2" "$3" "$4" $(stats "$1" "$2" "$3")
	echo "FIG $4 samples=$5 max_abs_ns=$6 rms_ns=$7 mean_ns=$8"
	[ "$5" -gt 10 ] || fail "$4: only $5 probe samples"
	check_le "$4-max-abs-ns" "$6" "$LOCK_NS"
}

# 1: start 1.5 s off: one step, then locked.
case_start() {
	start_probe
	guest_inject $DEV step 1500000000
	nap 1
	start_daemon
	nap 12
	mark end
	stop_probe
	stop_daemon
	set -- $(stats daemon-start 0 0.5)
	echo "FIG offset-before-ns $4"
	check_le "offset-before-off-by-1.5s-ns" "$(awk -v o="$4" 'BEGIN { d = o + 1500000000; print d < 0 ? -d : d }')" 20000000
	check_eq "steps" "$(jumps daemon-start 0 12 100000000)" 1
	check_le "settle-s" "$(settle daemon-start $LOCK_NS)" 5
	steady daemon-start 6 12 locked
	result
}

# 2: PHC steps of +0.5 s and -0.5 s mid-run: each corrected within 2 s by one step.
case_step() {
	start_probe
	start_daemon
	nap 6
	for s in 500000000 -500000000; do
		mark "step$s"
		guest_inject $DEV step $s
		nap 5
		check_le "step$s-corrected-s" "$(settle "step$s" 1000000)" 2
		# The injected jump and the correction: two moves of 100 ms or more.
		check_eq "step$s-jumps" "$(jumps "step$s" 0 5 100000000)" 2
		steady "step$s" 3 5 "after-step$s"
	done
	stop_probe
	stop_daemon
	result
}

# 3: a PHC step of 110 ms, under step_threshold: corrected.
case_step110() {
	start_probe
	start_daemon
	nap 6
	mark step110
	guest_inject $DEV step 110000000
	nap 18
	stop_probe
	stop_daemon
	check_le "step110-corrected-1ms-s" "$(settle step110 1000000)" 5
	check_le "step110-locked-s" "$(settle step110 $LOCK_NS)" 15
	steady step110 15 18 after-step110
	result
}

# RAW slope (ppm) of the guest clock against its own oscillator over a window.
slope() {
	set -- $(stats "$1" "$2" "$3")
	echo "$5"
}
# check_near NAME VALUE WANT TOL: |VALUE - WANT| <= TOL (decimals)
check_near() {
	echo "FIG $1 $2 (want $3 +- $4)"
	if awk -v v="$2" -v w="$3" -v t="$4" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(v != "" && d <= t) }'; then
		ok "$1"
	else
		fail "$1 = $2, not within $4 of $3"
	fi
}

# 4: PHC frequency faults. +100 ppm is followed; +2000 ppm and a nearly frozen PHC (the
# largest negative adjustment the driver takes, its max_adjustment) are refused by the reference
# check: the guest's clock keeps its rate against its own oscillator (CLOCK_MONOTONIC_RAW)
# instead of being dragged.
case_freq() {
	start_probe
	start_daemon
	nap 6
	mark f100
	guest_inject $DEV freq 100000
	nap 14
	steady f100 9 14 after-f100
	base=$(slope f100 9 14)
	check_near "f100-followed-slope-ppm" "$base" 100 5
	for f in 2000000 min; do
		mark "f$f"
		guest_inject $DEV freq $f
		nap 10
		set -- $(stats "f$f" 9 10)
		echo "FIG f$f-offset-at-10s-ns $4 (the PHC ran away)"
		[ "${2:-0}" -gt 5000000 ] || fail "f$f: the PHC did not run away (|offset| $2 ns)"
		check_near "f$f-not-dragged-slope-ppm" "$(slope "f$f" 4 10)" "$base" 20
		kill -0 "$dpid" 2>/dev/null || fail "the daemon exited on f$f"
		# Back to +100 ppm; the daemon recovers (a step) before the next fault.
		mark "f$f-end"
		guest_inject $DEV freq 100000
		nap 16
		steady "f$f-end" 14 16 "after-f$f"
	done
	stop_probe
	stop_daemon
	result
}

# 5: seccomp and user (on in every case) over the control socket's commands and a step
# after a reload: no SIGSYS, every command answered.
ctl() {
	phcsyncctl "$@" >/tmp/ctl.out 2>&1
	st=$?
	echo "phcsyncctl $*: exit $st: $(head -c 300 /tmp/ctl.out | tr '\n' ' ')"
	[ "$st" -eq 0 ] || fail "phcsyncctl $* exit $st"
}
case_seccomp() {
	start_probe
	start_daemon
	i=0
	while [ ! -S /run/phcsyncd/phcsyncd.sock ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ctl waitsync 20 100000
	ctl status
	ctl -j status
	ctl metrics
	grep -q 'phcsync' /tmp/ctl.out || fail "metrics has no phcsync series"
	# The reload turns summaries on: they must appear.
	summary=2 conf
	ctl reload
	nap 3
	ctl reset
	nap 3
	mark step-after-reload
	guest_inject $DEV step 500000000
	nap 4
	check_le "step-after-reload-corrected-s" "$(settle step-after-reload 1000000)" 2
	ctl step
	ctl waitsync 20 100000
	nap 2
	steady step-after-reload 3 6 after-ctl
	stop_probe
	stop_daemon
	grep -q 'summary:' /tmp/d.log || fail "no summary line after the reload turned them on"
	result
}

# 6: device interface:eth0 (ethtool netlink) locks; device auto refuses the NIC's PHC,
# which is not a hypervisor clock, and leaves the clock alone.
case_device() {
	start_probe
	device=interface:eth0 start_daemon
	nap 8
	stop_daemon
	steady daemon-start 4 8 interface-eth0
	# interface:eth0 resolved through ethtool netlink to the igb PHC.
	grep -q '/dev/ptp0 (.*): opened' /tmp/d.log || fail "interface:eth0 did not resolve to /dev/ptp0"
	guest_inject $DEV step 300000000
	mark auto
	device=auto conf
	phcsyncd -n -f /tmp/phcsyncd.conf >/tmp/d.log 2>&1
	st=$?
	echo "--- device auto: exit $st"
	cat /tmp/d.log
	[ "$st" -ne 0 ] || fail "device auto exited 0 on a NIC PHC"
	grep -q 'no hypervisor PTP clock' /tmp/d.log || fail "device auto did not explain"
	nap 1
	stop_probe
	set -- $(stats auto 0.5 1.5)
	check_near "auto-clock-untouched-offset-ns" "$4" -300000000 1000000
	result
}

# 7: a leap second on the real kernel. The PHC is set 30 s before the insertion at the end
# of 2027-06-30 (tests/data/leap/future-insert.list), and stepped back by 1 s as it passes
# midnight, as a UTC host clock does. leap_mode system: the kernel inserts the second
# (TIME_INS, then TIME_OOP; rtcsync yes clears STA_UNSYNC, without which adjtimex reports
# only TIME_ERROR), CLOCK_REALTIME repeats a second against CLOCK_MONOTONIC_RAW once,
# TAI-UTC goes 37 -> 38, and the daemon neither steps nor loses lock.
LEAP=1814400000
case_leap() {
	start_probe
	guest_inject $DEV set $((LEAP - 30))
	leapfile=/etc/leap-test.list extra_conf="leap_mode system
rtcsync yes
allow_large_step yes" start_daemon
	(guest_inject $DEV at $LEAP -1000000000; mark leap) &
	nap 45
	stop_probe
	stop_daemon
	states=$(awk '$1 == "M" && $3 == "daemon-start" { go = 1 }
		go && $1 == "P" && ($5 "/" $6) != last { last = $5 "/" $6; printf "%s ", last }' /tmp/p.log)
	echo "FIG leap-states(state/tai) $states"
	case "$states" in
	*"1/37 "*"3/3"[78]" "*) ok "TIME_INS then TIME_OOP" ;;
	*) fail "no TIME_INS then TIME_OOP" ;;
	esac
	tai_end=$(awk '$1 == "P" { t = $6 } END { print t }' /tmp/p.log)
	check_eq "tai-after" "$tai_end" 38
	# The inserted second: REALTIME - MONOTONIC_RAW moves back by 1 s, once.
	inserted=$(awk '$1 == "M" && $3 == "daemon-start" { go = 1; t0 = $2 }
		go && $1 == "P" && $2 > t0 + 3000 { if (have) { d = $7 - prev; if (d < -500000000 || d > 500000000) printf "%.3f ", d / 1e9 } prev = $7; have = 1 }' /tmp/p.log)
	check_eq "realtime-repeats-(s)" "$inserted" "-1.000 "
	check_eq "steps-before-leap" "$(jumps daemon-start 3 25 100000000)" 0
	check_eq "steps-after-leap" "$(jumps leap 0.5 14 100000000)" 0
	steady leap 2 14 after-leap
	grep -q 'stepped the clock' /tmp/d.log && [ "$(grep -c 'stepped the clock' /tmp/d.log)" -ne 1 ] &&
		fail "the daemon stepped after its start-up step"
	result
}

# 8: the guest half of kernel-model conformance; compare.sh does the rest.
case_conform() {
	guest_conform
	echo "GUEST-RESULT PASS"
}
