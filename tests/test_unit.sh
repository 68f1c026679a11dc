#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The systemd units as meson installs them: `systemd-analyze verify` accepts each, and each
# one's exposure (`systemd-analyze security`, offline) stays at 2.0 or better (phcsyncd's
# is 1.6 now).
# Usage: test_unit.sh UNIT_FILE... Skips (77) without systemd-analyze.
set -u

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not installed (package systemd)"
	exit 77
fi
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP

# verify insists that the programs exist: the installed binaries may not be there yet.
# Side by side, so that the wait unit's Requires=phcsyncd.service resolves.
for unit in "$@"; do
	sed 's|^ExecStart=[^ ]*|ExecStart=/bin/true|' "$unit" >"$dir/${unit##*/}" || exit 1
done
cd "$dir" || exit 1
fail=0
for unit in "$@"; do
	name=${unit##*/}
	if ! systemd-analyze verify --man=no "./$name"; then
		echo "FAIL: systemd-analyze verify $name"
		fail=1
		continue
	fi
	# --offline and --threshold came with systemd 250.
	if systemd-analyze security --offline=yes --no-pager "./$name" >security.txt 2>&1; then
		printf '%s: ' "$name"
		grep 'Overall exposure' security.txt
		if ! systemd-analyze security --offline=yes --threshold=20 "./$name" >/dev/null 2>&1; then
			cat security.txt
			echo "FAIL: $name: exposure above 2.0"
			fail=1
		fi
	else
		echo "$name: systemd-analyze security --offline unsupported here; verify passed"
	fi
done
exit $fail
