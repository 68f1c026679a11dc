#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Fail-closed checks. Usage: test_sim_safety.sh PHCSIM LIBPHCSIM SIM_PROBE
# 1. The library loaded without the harness stops the program before its main.
# 2. The harness with a bogus library never starts the program.
set -u
phcsim=$1 lib=$2 probe=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

env -u PHCSIM_ALLOW LD_PRELOAD="$lib" "$probe" --touch "$tmp/ran1" >"$tmp/out1" 2>&1 &&
	fail "preload without harness exited 0"
[ -e "$tmp/ran1" ] && fail "main ran with the library loaded outside the harness"
grep -q "refusing to run outside the phcsim harness" "$tmp/out1" ||
	fail "no clear refusal message: $(cat "$tmp/out1")"

"$phcsim" -L "$tmp/no-such-lib.so" -- "$probe" --touch "$tmp/ran2" >/dev/null 2>&1
[ $? -ge 125 ] || fail "harness with a missing library did not fail with 125+"
[ -e "$tmp/ran2" ] && fail "program ran with a missing library"

echo "not a library" >"$tmp/fake.so"
"$phcsim" -L "$tmp/fake.so" -- "$probe" --touch "$tmp/ran3" >/dev/null 2>&1
[ $? -ge 125 ] || fail "harness with a non-library did not fail with 125+"
[ -e "$tmp/ran3" ] && fail "program ran with a non-library"

# A real shared object that is not the simulator is refused too.
other=$(ldd "$probe" | awk '/libc\.so/ { print $3 }')
if [ -n "$other" ]; then
	"$phcsim" -L "$other" -- "$probe" --touch "$tmp/ran4" >/dev/null 2>&1
	[ $? -ge 125 ] || fail "harness with libc as library did not fail with 125+"
	[ -e "$tmp/ran4" ] && fail "program ran with a foreign library"
fi

# Sanity: with the right library the same program does run (else the above prove nothing).
"$phcsim" -L "$lib" --duration 2 -- "$probe" --touch "$tmp/ran5" >/dev/null 2>&1 ||
	fail "harness with the real library failed"
[ -e "$tmp/ran5" ] || fail "program did not run under the harness"

# The program under the harness cannot hold or gain CAP_SYS_TIME (bit 25): shell builtins
# only, since a program it started would (rightly) refuse to run without the harness. The
# bounding set keeps the bit when phcsim is not root (only CAP_SETPCAP may drop from it);
# no_new_privs then keeps set-uid and file capabilities from granting it.
caps=$("$phcsim" -L "$lib" --duration 1 -- sh -c \
	'while read -r k v; do case $k in Cap*|NoNewPrivs:) echo "$k $v";; esac; done </proc/self/status')
[ -n "$caps" ] || fail "cannot read the child's capabilities"
echo "$caps" | grep -qx 'NoNewPrivs: 1' || fail "the program runs without no_new_privs: $caps"
echo "$caps" | while read -r k v; do
	[ "$k" = NoNewPrivs: ] && continue
	[ "$k" = CapBnd: ] && [ "$(id -u)" -ne 0 ] && continue
	[ $(( (0x$v >> 25) & 1 )) = 0 ] || fail "the program has CAP_SYS_TIME in $k $v"
done || exit 1
echo "ok"
