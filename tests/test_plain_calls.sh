#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# phcsyncd under an independent LD_PRELOAD simulator (plain_preload.c): the loop polls only
# sockets and devices, signals arrive as EINTR from poll, a clock that cannot be read is
# survived or refused cleanly, and the device and the configuration file are opened, never
# looked up with access() or stat() first. The daemon runs observe-only (-x) without CAP_SYS_TIME
# (dropped with capsh when root), and the preload ends it at any attempt to touch a clock.
# Usage: test_plain_calls.sh PHCSYNCD PLAIN_PRELOAD
set -u
daemon=$1
preload=$2

if [ "$(id -u)" -eq 0 ] && ! command -v capsh >/dev/null 2>&1; then
	echo "SKIP: capsh is needed to drop CAP_SYS_TIME"
	exit 77
fi

tmp=$(mktemp -d /tmp/phcsync-plain.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

dev=$tmp/no-such-dir/ptp9
conf=$tmp/phcsyncd.conf
cat >"$conf" <<EOF
device $dev
control_socket $tmp/ctl.sock
summary_interval 0
EOF

fail=0
failed_cases=
bad() {
	echo "FAIL: $case: $1"
	fail=1
	case " $failed_cases " in
	*" $case "*) ;;
	*) failed_cases="$failed_cases $case" ;;
	esac
}

# run CASE EXPECTED_STATUS ARGS...: the daemon under the preload; its stderr in $log, the
# preload's findings in $report.
run() {
	case=$1
	want=$2
	shift 2
	log=$tmp/$case.log
	report=$tmp/$case.report
	: >"$report"
	# Only the daemon gets the preload: it refuses a process that holds CAP_SYS_TIME.
	if [ "$(id -u)" -eq 0 ]; then
		set -- capsh --drop=cap_sys_time -- -c 'exec env LD_PRELOAD="$0" "$@"' "$preload" \
			"$daemon" "$@"
	else
		set -- env LD_PRELOAD="$preload" "$daemon" "$@"
	fi
	PLAIN_REPORT=$report PLAIN_WATCH="/dev/ptp:$dev:$default_conf" timeout 30 "$@" >"$log" 2>&1
	status=$?
	[ "$status" -eq "$want" ] || bad "exit status $status, expected $want"
	for finding in poll-fd spin lookup adjust; do
		if grep -q "^$finding" "$report"; then
			bad "the preload saw: $(grep "^$finding" "$report" | head -1)"
		fi
	done
}

has() { # PATTERN: a line of the log matches it
	grep -q -- "$1" "$log" || bad "no line matching '$1'"
}
hasnt() {
	if grep -q -- "$1" "$log"; then
		bad "unexpected: $(grep -- "$1" "$log" | head -1)"
	fi
}

# The default configuration file, opened (never looked up) even by --check-config.
default_conf=$("$daemon" --help | sed -n 's/.*(default \(.*\))$/\1/p')
if [ -z "$default_conf" ]; then
	echo "FAIL: no default configuration path in --help"
	exit 1
fi

# Signals: SIGHUP then SIGTERM, each delivered as EINTR from poll.
PLAIN_SPIN_MAX=4 PLAIN_HUP_AT=3 PLAIN_TERM_AT=8 run signals 0 -n -x -f "$conf"
has "waiting for it"
has "SIGHUP: reloading .*phcsyncd.conf"
has "reloaded .*phcsyncd.conf: no change to apply; leap table reloaded"
has "exiting on signal"
# Root without CAP_SYS_TIME holds the others, and is told so truthfully.
if [ "$(id -u)" -eq 0 ]; then
	has "running as root with capabilities beyond CAP_SYS_TIME"
	hasnt "every capability"
fi

count() { # N PATTERN: exactly N lines of the log match it
	got=$(grep -c -- "$2" "$log")
	[ "$got" -eq "$1" ] || bad "$got lines matching '$2', expected $1"
}

# CLOCK_BOOTTIME refused: suspend detection is off, said once, and no suspend is made up.
PLAIN_BOOTTIME_ERRNO=22 PLAIN_TERM_AT=20 run boottime 0 -n -x -f "$conf"
count 1 "cannot read CLOCK_BOOTTIME: Invalid argument (EINVAL); suspend detection is off"
hasnt "resumed after"
has "exiting on signal"

# CLOCK_MONOTONIC refused from the start: exit 1, and log lines without a (made-up) time.
PLAIN_MONO_ERRNO=22 PLAIN_TERM_AT=20 run mono-start 1 -n -x -f "$conf"
has "^phcsyncd: cannot read CLOCK_MONOTONIC: Invalid argument (EINVAL); the poll timer needs it"
hasnt "^phcsyncd\\["

# CLOCK_MONOTONIC refused later: the last reading is kept, said once, and SIGTERM still ends
# the run cleanly.
PLAIN_MONO_ERRNO=22 PLAIN_MONO_OK_CALLS=30 PLAIN_TERM_AT=60 run mono-later 0 -n -x -f "$conf"
count 1 "cannot read CLOCK_MONOTONIC: Invalid argument (EINVAL); keeping the last reading"
has "^phcsyncd: exiting on signal"

# Without -f: the default file is opened, not looked up (an absent one means defaults).
# Only root may make the default control socket's directory, as start-up would.
if [ "$(id -u)" -eq 0 ]; then
	run check-default 0 --check-config
else
	run check-default 2 --check-config
	has "control_socket: .*cannot create"
fi
if [ -e "$default_conf" ]; then
	has "configuration OK"
else
	has "not present, the defaults apply"
fi

for case in $failed_cases; do
	echo "--- $case: the daemon's output"
	cat "$tmp/$case.log"
done
[ "$fail" -eq 0 ] && echo "PASS"
exit "$fail"
