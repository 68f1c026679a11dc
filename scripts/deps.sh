#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install what phcsync needs to build and run its tests, from Debian's packages.
#   scripts/deps.sh          install the build and test dependencies
#   scripts/deps.sh --peers  also fetch the peers that scripts/bench.py compares with and
#                            that are not installed (chronyd), unpacked only
set -eu
pkgs="gcc clang meson ninja-build pkg-config python3 linux-libc-dev check \
libnl-3-dev libnl-genl-3-dev libjson-c-dev nettle-dev libcap-dev libseccomp-dev \
linuxptp tzdata valgrind systemd iproute2 python3-matplotlib"
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
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $pkgs
if [ "${1:-}" = "--peers" ]; then
	fetch_chrony
fi
