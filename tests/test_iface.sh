#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Interface discovery against the real kernel, inside a private network namespace so that
# the host's interfaces are never touched: a veth pair and lo have no PHC, a missing name is
# reported as such, through ethtool netlink and through the ioctl fallback alike.
# Usage: test_iface.sh IFACE_PROBE. Skips (77) without root or `ip netns`.
set -u
probe=$1

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root for ip netns"
	exit 77
fi
if ! command -v ip >/dev/null 2>&1 || ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: ip netns unavailable (iproute2)"
	exit 77
fi

ns=phcsync-test-$$
if ! ip netns add "$ns"; then
	echo "SKIP: cannot create a network namespace"
	exit 77
fi
trap 'ip netns delete "$ns"' EXIT
trap 'exit 1' INT TERM HUP

fail=0
check() { # LINE-PATTERN: the probe's output must contain a line matching it exactly
	if ! printf '%s\n' "$out" | grep -qx -- "$1"; then
		echo "FAIL: expected a line '$1'"
		fail=1
	fi
}

ip -n "$ns" link add phcs-va type veth peer name phcs-vb || exit 1
ip -n "$ns" link set lo up || exit 1

out=$(ip netns exec "$ns" "$probe" phcs-va lo phcs-none 0123456789abcdef) || {
	echo "FAIL: the probe failed"
	exit 1
}
printf '%s\n' "$out"
for how in netlink ioctl; do
	check "phcs-va $how -95 -1 interface phcs-va: has no PTP hardware clock"
	check "lo $how -95 -1 interface lo: has no PTP hardware clock"
	check "phcs-none $how -19 -1 interface phcs-none: no such network interface"
	check "0123456789abcdef $how -22 -1 interface '0123456789abcdef': a name is 1 to 15 bytes"
done

out=$(ip netns exec "$ns" "$probe" --list) || {
	echo "FAIL: the probe failed to list"
	exit 1
}
printf '%s\n' "$out"
check "lo -1"
check "phcs-va -1"
check "phcs-vb -1"
if [ "$(printf '%s\n' "$out" | wc -l)" -ne 3 ]; then
	echo "FAIL: expected exactly lo and the veth pair in the namespace"
	fail=1
fi
exit $fail
