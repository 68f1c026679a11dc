#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# `meson install` into a DESTDIR installs exactly the expected files, and the units'
# ExecStart= name the installed daemon and client.
# Usage: test_install.sh BUILD_DIR DAEMON_PATH EXPECTED_PATH... (DAEMON_PATH is expected too)
set -u
build=$1
daemon=$2
shift

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP
dest=$work/root

if ! meson install -C "$build" --destdir "$dest" --no-rebuild >"$work/log" 2>&1; then
	cat "$work/log"
	echo "FAIL: meson install"
	exit 1
fi

printf '%s\n' "$@" | sort >"$work/want"
(cd "$dest" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort) >"$work/have"
if ! diff -u "$work/want" "$work/have"; then
	echo "FAIL: installed files differ from the expected list (- expected, + installed)"
	exit 1
fi

fail=0
for f in "$@"; do
	case $f in
	*/phcsyncd.service) unit=$f ;;
	*/phcsyncd-wait.service) wait_unit=$f ;;
	*/phcsyncctl) ctl=$f ;;
	esac
done
if [ ! -x "$dest$daemon" ]; then
	echo "FAIL: $daemon is not executable"
	fail=1
fi
if ! grep -qx "ExecStart=$daemon -n" "$dest$unit"; then
	echo "FAIL: $unit does not start $daemon"
	fail=1
fi
if ! grep -q "^ExecStart=$ctl waitsync " "$dest$wait_unit"; then
	echo "FAIL: $wait_unit does not run $ctl waitsync"
	fail=1
fi
[ $fail -eq 0 ] && echo "installed: $*"
exit $fail
