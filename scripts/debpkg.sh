#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Build the Debian package from a copy of the tree (dpkg-buildpackage writes beside the tree
# it builds, and leaves debian/ build files in it), lint it and check what it ships. It
# never installs the package: that would start phcsyncd against this machine's clock.
# As root the build runs as `nobody`, as on a Debian build server: unprivileged, with the
# test suite (dh_auto_test). The .deb and the logs stay in OUTDIR.
# Usage: scripts/debpkg.sh [OUTDIR]   (default: a new directory under /tmp, printed)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d /tmp/phcsync-deb.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/phcsync" "$out"/phcsync_*
mkdir "$out/phcsync"

# The files git knows (tracked, or new and not ignored): no build directory comes along.
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$src" && tar --null -T - -cf -) | tar -xf - -C "$out/phcsync"

as_builder() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
	chown -R nobody:nogroup "$out"
	as_builder() { runuser -u nobody -- env HOME="$out" "$@"; }
fi

echo "== dpkg-buildpackage -us -uc -b (in $out/phcsync, as $(as_builder id -un))"
if ! (cd "$out/phcsync" && as_builder dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 60 "$out/build.log"
	echo "FAIL: dpkg-buildpackage (log: $out/build.log)"
	exit 1
fi
grep -E '^(Ok|Fail|Skipped|Timeout): ' "$out/build.log" || true
deb=$(ls "$out"/phcsync_*.deb)
echo "built $deb"

echo "== lintian"
as_builder lintian --fail-on error,warning --info --display-info "$out"/phcsync_*.changes

echo "== dpkg-deb -c / -I"
dpkg-deb -c "$deb" | awk '{print $1, $6}' | tee "$out/contents.txt"
dpkg-deb -I "$deb" | tee "$out/info.txt"
fail=0
for path in ./usr/sbin/phcsyncd ./usr/bin/phcsyncctl \
	./lib/systemd/system/phcsyncd.service ./lib/systemd/system/phcsyncd-wait.service \
	./usr/lib/systemd/ntp-units.d/50-phcsyncd.list ./usr/lib/udev/rules.d/90-phcsync-ptp.rules \
	./etc/phcsyncd.conf ./usr/share/man/man8/phcsyncd.8.gz ./usr/share/man/man8/phcsyncctl.8.gz \
	./usr/share/man/man5/phcsyncd.conf.5.gz ./usr/share/doc/phcsync/copyright; do
	if ! awk -v p="$path" '$2 == p { found = 1 } END { exit !found }' "$out/contents.txt"; then
		echo "FAIL: $path is not in the package"
		fail=1
	fi
done
# The package's version is the project's.
meson_version=$(sed -n "s/^  version: '\([^']*\)',$/\1/p" "$src/meson.build")
deb_version=$(dpkg-deb -f "$deb" Version)
if [ "$deb_version" != "$meson_version" ]; then
	echo "FAIL: package version $deb_version, meson.build says $meson_version (debian/changelog)"
	fail=1
fi
ctl=$out/control
rm -rf "$ctl"
dpkg-deb -e "$deb" "$ctl"
grep -qx /etc/phcsyncd.conf "$ctl/conffiles" || { echo "FAIL: /etc/phcsyncd.conf is not a conffile"; fail=1; }
for field in 'Provides: time-daemon' 'Conflicts: time-daemon' 'Replaces: time-daemon'; do
	grep -qx "$field" "$ctl/control" || { echo "FAIL: control lacks '$field'"; fail=1; }
done
# debhelper's maintainer scripts: phcsyncd enabled, started on install and restarted on
# upgrade; the wait unit enabled and not started.
grep -q "deb-systemd-helper enable 'phcsyncd.service'" "$ctl/postinst" || { echo "FAIL: phcsyncd.service is not enabled on install"; fail=1; }
grep -q "deb-systemd-invoke \$_dh_action 'phcsyncd.service'" "$ctl/postinst" || { echo "FAIL: phcsyncd.service is not started/restarted on install/upgrade"; fail=1; }
grep -q "deb-systemd-helper enable 'phcsyncd-wait.service'" "$ctl/postinst" || { echo "FAIL: phcsyncd-wait.service is not enabled on install"; fail=1; }
if grep -q "deb-systemd-invoke.*phcsyncd-wait.service" "$ctl/postinst"; then
	echo "FAIL: phcsyncd-wait.service is started by the install"
	fail=1
fi
[ $fail -eq 0 ] && echo "package contents as expected: $deb"
exit $fail
