#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The systemd unit as meson installs it: `systemd-analyze verify` accepts it, and its
# exposure (`systemd-analyze security`, offline) stays at 2.0 or better; it is 1.6 now.
# Usage: test_unit.sh UNIT_FILE. Skips (77) without systemd-analyze.
set -u
unit=$1

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not installed (package systemd)"
	exit 77
fi
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP

# verify insists that ExecStart= exists: the installed binary may not be there yet.
sed 's|^ExecStart=[^ ]*|ExecStart=/bin/true|' "$unit" >"$dir/phcsyncd.service" || exit 1
cd "$dir" || exit 1
if ! systemd-analyze verify --man=no ./phcsyncd.service; then
	echo "FAIL: systemd-analyze verify"
	exit 1
fi
# --offline and --threshold came with systemd 250.
if systemd-analyze security --offline=yes --no-pager ./phcsyncd.service >security.txt 2>&1; then
	grep 'Overall exposure' security.txt
	if ! systemd-analyze security --offline=yes --threshold=20 ./phcsyncd.service >/dev/null 2>&1; then
		cat security.txt
		echo "FAIL: exposure above 2.0"
		exit 1
	fi
else
	echo "systemd-analyze security --offline unsupported here; verify passed"
fi
exit 0
