#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install what phcsync needs to build and run its tests, and to build and lint its Debian
# package, from Debian's packages. Another apt or dpkg at work (unattended-upgrades at
# boot, a second build) is waited for, up to DPKG_LOCK_TIMEOUT seconds (default 600),
# rather than failed on.
#   scripts/deps.sh          install the build and test dependencies
#   scripts/deps.sh --peers  also fetch the peers that scripts/bench.py compares with and
#                            that are not installed (chronyd), unpacked only
set -eu
pkgs="gcc clang meson ninja-build pkgconf python3 linux-libc-dev check \
libnl-3-dev libnl-genl-3-dev libjson-c-dev nettle-dev libcap-dev libseccomp-dev \
linuxptp tzdata valgrind systemd iproute2 python3-matplotlib libcap2-bin \
build-essential debhelper dpkg-dev lintian"
# Where --peers unpacks them; scripts/bench.py and tests/sim look here.
peers=${PHCSYNC_PEERS:-/var/cache/phcsync-peers}

# Debian's chrony, downloaded and unpacked, never installed: installing it would start a
# time daemon on this machine. Its chronyd runs only under the simulator.
fetch_chrony() {
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# apt downloads as its own user where it can.
	chown _apt "$tmp" 2>/dev/null || true
	(cd "$tmp" && apt-get download chrony)
	rm -rf "$peers/chrony"
	mkdir -p "$peers/chrony"
	dpkg-deb -x "$tmp"/chrony_*.deb "$peers/chrony"
	echo "chronyd: $peers/chrony/usr/sbin/chronyd"
}

if [ "$(id -u)" -ne 0 ]; then
	exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
timeout_s=${DPKG_LOCK_TIMEOUT:-600}
lock="-o DPkg::Lock::Timeout=$timeout_s"
# apt-get install waits on dpkg's lock with the option; apt-get update (apt 2.6) does not
# wait on its lists lock: retried while that lock is what stops it.
err=$(mktemp)
waited=0
# shellcheck disable=SC2086
until apt-get $lock update 2>"$err"; do
	cat "$err" >&2
	if ! grep -q 'Could not get lock' "$err" || [ "$waited" -ge "$timeout_s" ]; then
		rm -f "$err"
		exit 1
	fi
	echo "deps.sh: another apt holds the package lists; trying again in 5 s" >&2
	sleep 5
	waited=$((waited + 5))
done
cat "$err" >&2
rm -f "$err"
# shellcheck disable=SC2086
apt-get $lock install -y --no-install-recommends $pkgs
if [ "${1:-}" = "--peers" ]; then
	fetch_chrony
fi
