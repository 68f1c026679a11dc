#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every text file git tracks carries the licence's SPDX line in its first five lines (room
# for a shebang or a man page's header), except the files listed below, which cannot or
# need not: the licence itself, prose, formats with no comment syntax, and test inputs
# whose bytes are the test. Binary files (images) have no place for it.
# Usage: test_spdx.sh SOURCE_DIR. Skips (77) outside a git checkout.
set -u
src=$1
spdx='SPDX-License-Identifier: BSD-2-Clause'

if ! command -v git >/dev/null 2>&1 || ! git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	echo "SKIP: $src is not a git checkout (or git is missing): no list of tracked files"
	exit 77
fi

fail=0
checked=0
list=$(mktemp) || exit 1
trap 'rm -f "$list"' EXIT
git -C "$src" ls-files >"$list" || exit 1
while IFS= read -r f; do
	case $f in
	LICENSE | *.md | .gitignore) continue ;;
	# debian/copyright states the licence in its own (DEP-5) fields; the changelog and
	# the source format have no comment syntax.
	debian/copyright | debian/changelog | debian/source/format) continue ;;
	tests/data/* | tests/fuzz/corpus/*) continue ;;
	esac
	# Tracked but deleted in the work tree: nothing to read.
	[ -e "$src/$f" ] || continue
	# grep -I: a file with a NUL byte is binary and matches nothing.
	grep -qI '' "$src/$f" || continue
	checked=$((checked + 1))
	if ! head -n 5 "$src/$f" | grep -q "$spdx"; then
		echo "FAIL: $f: no '$spdx' in its first five lines"
		fail=1
	fi
done <"$list"
[ $fail -eq 0 ] && echo "ok: $checked files carry the SPDX line"
exit $fail
