#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# phcsyncd --check-config checks what start-up checks: each case is a configuration that
# start-up would refuse, or run without part of (the control socket, the leap table, the
# driftfile), and --check-config must exit 2 naming the file, the key and what is wrong.
# Every run is under the plain-calls preload (plain_preload.c) with CAP_SYS_TIME dropped
# (capsh when root), which reports any reading of a clock, ends the process at any attempt
# to set one, and reports stat() lookups of the device: --check-config touches no clock.
# Usage: test_check_config.sh PHCSYNCD PLAIN_PRELOAD LEAP_DATA_DIR
set -u
daemon=$1
preload=$2
data=$3

if [ "$(id -u)" -eq 0 ] && ! command -v capsh >/dev/null 2>&1; then
	echo "SKIP: capsh is needed to drop CAP_SYS_TIME"
	exit 77
fi

tmp=$(mktemp -d /tmp/phcsync-check.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

esc=$(printf '\033')
fail=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $case: $1"; }
bad() {
	n=$((n + 1))
	echo "not ok $n - $case: $1"
	fail=1
	echo "# stdout: $(cat "$tmp/out")"
	echo "# stderr: $(cat "$tmp/err")"
	echo "# preload: $(cat "$tmp/report")"
}

# check CASE STATUS PATTERN ARGS...: phcsyncd $mode (--check-config unless said) ARGS; its
# exit status must be STATUS and a line of its output match PATTERN.
mode=--check-config
check() {
	case=$1
	want=$2
	pattern=$3
	shift 3
	: >"$tmp/report"
	if [ "$(id -u)" -eq 0 ]; then
		set -- capsh --drop=cap_sys_time -- -c 'exec env LD_PRELOAD="$0" "$@"' "$preload" \
			"$daemon" $mode "$@"
	else
		set -- env LD_PRELOAD="$preload" "$daemon" $mode "$@"
	fi
	PLAIN_REPORT=$tmp/report PLAIN_CLOCK_READS=1 PLAIN_WATCH="/dev/ptp:$tmp/no-such-dir" \
		timeout 30 "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ "$status" -eq "$want" ]; then ok "exit status $status"; else bad "exit status $status, expected $want"; fi
	if cat "$tmp/out" "$tmp/err" | grep -q -- "$pattern"; then
		ok "says '$pattern'"
	else
		bad "no line matching '$pattern'"
	fi
	if [ -s "$tmp/report" ]; then bad "the preload saw: $(head -1 "$tmp/report")"; else ok "no clock touched, no device looked up"; fi
	if grep -q "$esc" "$tmp/out" "$tmp/err"; then bad "a raw ESC byte in the output"; fi
}

conf() { # CASE LINE...: write $tmp/CASE.conf: LINEs, then what they leave of a base that passes
	f=$tmp/$1.conf
	shift
	{
		for line in "$@"; do echo "$line"; done
		for base in "control_socket $tmp/run/ctl.sock" "leapfile $data/debian-2026f.list"; do
			case " $* " in
			*" ${base%% *} "*) ;;
			*) echo "$base" ;;
			esac
		done
	} >"$f"
}

conf good "device auto" "driftfile $tmp/drift"
check good 0 "good.conf: configuration OK" -f "$tmp/good.conf"
check good 0 "leapfile: $data/debian-2026f.list: loaded and verified" -f "$tmp/good.conf"

conf user "user no-such-user-phc"
check user 2 "user.conf: user: cannot become user no-such-user-phc" -f "$tmp/user.conf"

conf leap-missing "leapfile $tmp/missing.list"
check leap-missing 2 "leap-missing.conf: leapfile: $tmp/missing.list: cannot open" \
	-f "$tmp/leap-missing.conf"

conf leap-hash "leapfile $data/bad-hash.list"
check leap-hash 2 "leap-hash.conf: leapfile: .*hash mismatch" -f "$tmp/leap-hash.conf"

conf device-missing "device $tmp/no-such-dir/ptp9" "wait_for_device no"
check device-missing 2 "device-missing.conf: device: $tmp/no-such-dir/ptp9: No such file" \
	-f "$tmp/device-missing.conf"
# Waited for at start-up: a note, not a problem.
conf device-wait "device $tmp/no-such-dir/ptp9" "wait_for_device yes"
check device-wait 0 "phcsyncd would wait for it" -f "$tmp/device-wait.conf"
# -s is named as the origin; a regular file is no PHC.
check device-file 2 "^-s: device: $tmp/good.conf: not a character device" \
	-f "$tmp/good.conf" -s "$tmp/good.conf"

conf group "control_group no-such-group-phc"
check group 2 "group.conf: control_group: .*no-such-group-phc.*no such group" -f "$tmp/group.conf"

conf sockdir "control_socket $tmp/missing/deeper/ctl.sock"
check sockdir 2 "sockdir.conf: control_socket: $tmp/missing/deeper: cannot create the control socket directory" \
	-f "$tmp/sockdir.conf"
: >"$tmp/plainfile"
conf sockfile "control_socket $tmp/plainfile/ctl.sock"
check sockfile 2 "control_socket: $tmp/plainfile: not a directory" -f "$tmp/sockfile.conf"

# A missing directory may be made before start (systemd's StateDirectory=): a note.
conf drift-dir "driftfile $tmp/missing/drift"
check drift-dir 0 "drift-dir.conf: driftfile: $tmp/missing/drift: not there yet, and $tmp/missing: No such" \
	-f "$tmp/drift-dir.conf"

# FIFOs: refused at once, never waited on.
mkfifo "$tmp/fifo" || exit 1
check fifo-conf 2 "$tmp/fifo: cannot read: not a regular file" -f "$tmp/fifo"
# Start-up reads the file the same way (observe-only, and it never gets further).
mode="-n -x"
check fifo-start 2 "$tmp/fifo: cannot read: not a regular file" -f "$tmp/fifo"
mode=--check-config
conf fifo-leap "leapfile $tmp/fifo"
check fifo-leap 2 "leapfile: $tmp/fifo: cannot read: not a regular file" -f "$tmp/fifo-leap.conf"
conf fifo-drift "driftfile $tmp/fifo"
check fifo-drift 2 "driftfile: $tmp/fifo: not a regular file" -f "$tmp/fifo-drift.conf"

# Control bytes: refused, and echoed escaped (check() fails on any raw ESC).
conf ctrl "device /dev/ptp0${esc}[31m"
check ctrl 2 'ctrl.conf:1: device: expected .*got "/dev/ptp0\\x1b\[31m"' -f "$tmp/ctrl.conf"
check ctrl-name 2 'a\\x1b\]0;x\\x07b.conf: cannot read' -f "$tmp/a${esc}]0;x$(printf '\007')b.conf"

echo "1..$n"
exit "$fail"
