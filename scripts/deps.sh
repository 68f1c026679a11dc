#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install what phcsync needs to build and run its tests, from Debian's packages.
set -eu
pkgs="gcc clang meson ninja-build pkg-config python3 linux-libc-dev check \
libnl-3-dev libnl-genl-3-dev libjson-c-dev nettle-dev libcap-dev libseccomp-dev \
linuxptp tzdata valgrind systemd iproute2"
if [ "$(id -u)" -ne 0 ]; then
	exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $pkgs
