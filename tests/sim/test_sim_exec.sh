#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Exec events: the harness runs each command outside the simulation while virtual time
# stands, and the program serves it meanwhile. sim_probe --fifo answers pings with its
# CLOCK_MONOTONIC, so two pings 0.2 real seconds apart must get the same time, the exec
# time (mono_start 1000 s, no oscillator error), once per wait call it uses.
# Usage: test_sim_exec.sh PHCSIM LIBPHCSIM SIM_PROBE
set -u
phcsim=$1 lib=$2 probe=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkfifo "$tmp/in" "$tmp/out" || exit 1
cat >"$tmp/ping.sh" <<'PING'
cd "$1" || exit 9
echo ping >in && a=$(timeout 5 head -n1 out) || exit 8
sleep 0.2
echo ping >in && b=$(timeout 5 head -n1 out) || exit 7
echo "pongs: $a / $b"
[ "$a" = "$b" ]
PING
cat >"$tmp/exec.scn" <<SCN
name exec
seed 3
duration 8s
phc kvm 0
at 0.5s exec sh $tmp/ping.sh $tmp
at 1.5s exec sh $tmp/ping.sh $tmp
at 2.5s exec sh $tmp/ping.sh $tmp
at 3.5s exec sh $tmp/ping.sh $tmp
at 4.5s exec echo "a \"quoted\" word"; exit 3
at 4.5s exec env | grep -e ^LD_PRELOAD= -e ^PHCSIM_ || echo clean env; readlink /proc/self/fd/0; grep CapBnd /proc/self/status
at 5.5s exec sleep 5
at 8s exec touch $tmp/late
SCN

for run in 1 2; do
	"$phcsim" -s "$tmp/exec.scn" -t "$tmp/trace$run" --exec-log "$tmp/log$run" \
		--exec-timeout 0.5 -- "$probe" --fifo "$tmp/in" "$tmp/out" \
		>"$tmp/out$run" 2>"$tmp/err$run" || fail "run $run: $(cat "$tmp/err$run")"
done
cmp "$tmp/trace1" "$tmp/trace2" || fail "traces differ"
cmp "$tmp/out1" "$tmp/out2" || fail "program outputs differ"
cmp "$tmp/log1" "$tmp/log2" || fail "exec logs differ"

# Frozen: both pings of each command were served at its exec time, by each wait call.
for x in "1000500000000 poll" "1001500000000 select" "1002500000000 epoll_wait" \
	"1003500000000 ppoll"; do
	[ "$(grep -c "^$x: ping$" "$tmp/out1")" = 2 ] || fail "not two pings at '$x'"
	grep -q "^pongs: pong ${x% *} / pong ${x% *}$" "$tmp/log1" || fail "no pongs for '$x'"
done
# Resumed: the waits after each command still end at the next whole second.
for s in 1 2 3 4 5 6 7; do
	grep -q "^100${s}000000000 [a-z_]*: timeout$" "$tmp/out1" || fail "no timeout at 100$s s"
done
grep -q "stopped by SIGTERM" "$tmp/out1" || fail "program was not stopped at the end"
[ "$(grep -c '"type":"tick"' "$tmp/trace1")" = 9 ] || fail "not 9 ticks for 8 s"

# The trace records each command and its status in order; a timeout is killed and marked.
grep '"event":"exec"' "$tmp/trace1" | sed 's/"command":"[^"]*ping.sh[^"]*"/PING/' \
	>"$tmp/execs"
cat >"$tmp/want" <<'WANT'
{"t":0.500000000,"type":"event","event":"exec",PING,"status":0}
{"t":1.500000000,"type":"event","event":"exec",PING,"status":0}
{"t":2.500000000,"type":"event","event":"exec",PING,"status":0}
{"t":3.500000000,"type":"event","event":"exec",PING,"status":0}
{"t":4.500000000,"type":"event","event":"exec","command":"echo \"a \\\"quoted\\\" word\"; exit 3","status":3}
{"t":4.500000000,"type":"event","event":"exec","command":"env | grep -e ^LD_PRELOAD= -e ^PHCSIM_ || echo clean env; readlink /proc/self/fd/0; grep CapBnd /proc/self/status","status":0}
{"t":5.500000000,"type":"event","event":"exec","command":"sleep 5","status":137,"timeout":true}
WANT
cmp "$tmp/execs" "$tmp/want" || fail "exec events: $(cat "$tmp/execs")"
grep -q "ran over 0.5 s; killed: sleep 5" "$tmp/err1" || fail "no timeout message"
[ -e "$tmp/late" ] && fail "an exec at the end of the scenario ran"

# Outside the simulation: no preload, no harness variables, stdin /dev/null, no
# CAP_SYS_TIME (bit 25) even in the bounding set (when phcsim is root: no one else can
# drop from the bounding set, and a process that is not root holds nothing from it).
grep -q '^a "quoted" word$' "$tmp/log1" || fail "command output not in the exec log"
grep -q '^clean env$' "$tmp/log1" || fail "the command saw LD_PRELOAD or PHCSIM_*"
grep -qx /dev/null "$tmp/log1" || fail "stdin is not /dev/null"
bnd=$(awk '/^CapBnd/ { print $2 }' "$tmp/log1")
[ -n "$bnd" ] || fail "no CapBnd line in the exec log"
if [ "$(id -u)" -eq 0 ]; then
	[ $(( (0x$bnd >> 25) & 1 )) = 0 ] || fail "command has CAP_SYS_TIME: $bnd"
fi

# The library alone cannot run exec events: there is no harness to run them.
env PHCSIM_ALLOW=1 PHCSIM_SCENARIO="$tmp/exec.scn" LD_PRELOAD="$lib" "$probe" \
	--touch "$tmp/ran" >"$tmp/alone" 2>&1 && fail "exec events ran without the harness"
grep -q "exec events need the phcsim harness" "$tmp/alone" || fail "$(cat "$tmp/alone")"
[ -e "$tmp/ran" ] && fail "the program ran without the harness"
echo "ok"
