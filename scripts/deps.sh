#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install what phcsync needs to build and run its tests, and to build and lint its Debian
# package, from Debian's packages. Another apt or dpkg at work (unattended-upgrades at
# boot, a second build) is waited for, up to DPKG_LOCK_TIMEOUT seconds (default 600),
# rather than failed on.
#   scripts/deps.sh          install the build and test dependencies
#   scripts/deps.sh --peers  also fetch the peers that scripts/bench.py compares with and
#                            that are not installed (chronyd), unpacked only
#   scripts/deps.sh --guest  also install QEMU (bookworm-backports: its igb model has a
#                            PHC) and busybox-static, and fetch a 6.12 kernel, unpacked
#                            (never installed) into PHCSYNC_GUEST_CACHE (default
#                            /var/cache/phcsync-guest), for the guest suite
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

# QEMU starts no service; its igb device (QEMU >= 8) exposes a PHC. The newest 6.12
# kernel image the meta-package points to is unpacked, never installed.
fetch_guest() {
	apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
		-t bookworm-backports qemu-system-x86 busybox-static
	cache=${PHCSYNC_GUEST_CACHE:-/var/cache/phcsync-guest}
	mkdir -p "$cache"
	img=$(apt-cache depends linux-image-6.12-amd64 |
		sed -n 's/^ *Depends: \(linux-image-6\.12\.[^ ]*-amd64\)$/\1/p' | head -n 1)
	[ -n "$img" ] || { echo "deps.sh: no linux-image-6.12 package found" >&2; exit 1; }
	if [ ! -e "$cache/$img/.unpacked" ]; then
		rm -rf "${cache:?}/${img:?}" "$cache"/*.deb
		(cd "$cache" && apt-get download "$img")
		dpkg-deb -x "$cache/$img"_*.deb "$cache/$img"
		rm -f "$cache/$img"_*.deb
		touch "$cache/$img/.unpacked"
	fi
	ln -sfn "$img" "$cache/kernel"
	echo "kernel: $cache/kernel"
}

want_peers=no
want_guest=no
for a in "$@"; do
	case "$a" in
	--peers) want_peers=yes ;;
	--guest) want_guest=yes ;;
	*) echo "usage: $0 [--peers] [--guest]" >&2; exit 2 ;;
	esac
done
if [ "$(id -u)" -ne 0 ]; then
	exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
if [ "$want_guest" = yes ] &&
	! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	cat >/etc/apt/sources.list.d/phcsync-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
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
if [ "$want_peers" = yes ]; then
	fetch_chrony
fi
if [ "$want_guest" = yes ]; then
	fetch_guest
fi
