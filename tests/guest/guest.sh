#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The guest suite: boots a real 6.12 kernel under QEMU (TCG) with an igb NIC, whose PHC is
# /dev/ptp0, and runs one case of cases.sh in it; phcsyncd adjusts the guest's own clock
# there, and an independent probe (guest_probe) judges. Nothing on the host is adjusted.
# Usage: guest.sh CASE BINDIR...   (BINDIR: where phcsyncd, phcsyncctl and guest_* are)
# Exit: 0 pass, 1 fail, 77 skipped (no QEMU, kernel or busybox: scripts/deps.sh --guest).
set -u
case_name=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
cache=${PHCSYNC_GUEST_CACHE:-/var/cache/phcsync-guest}
qemu=$(command -v qemu-system-x86_64 || true)
busybox=/bin/busybox
kdir=$cache/kernel
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n 1)
skip() {
	echo "SKIP: $*; run scripts/deps.sh --guest"
	exit 77
}
[ -n "$qemu" ] || skip "qemu-system-x86_64 is not installed"
[ -n "$vmlinuz" ] || skip "no kernel unpacked in $kdir"
[ -x "$busybox" ] && "$busybox" --list | grep -qx cpio || skip "busybox-static is not installed"
# QEMU before 8.0 has no igb device (e1000e's clock never advances).
"$qemu" -device help 2>/dev/null | grep -q '"igb"' || skip "$qemu has no igb device (QEMU >= 8 needed)"

find_bin() {
	for d in "$@"; do
		[ -x "$d/$name" ] && { echo "$d/$name"; return; }
	done
}
tmp=$(mktemp -d /tmp/phcsync-guest.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
root=$tmp/root
mkdir -p "$root/bin" "$root/lib/modules" "$root/etc" "$root/usr/sbin" "$root/usr/bin" \
	"$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/run"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
for name in phcsyncd phcsyncctl guest_probe guest_inject guest_conform; do
	bin=$(find_bin "$@")
	[ -n "$bin" ] || { echo "ERROR: $name not found in $*"; exit 99; }
	cp "$bin" "$root/bin/$name"
	# Its shared libraries, at the paths the dynamic loader looks for them.
	ldd "$bin" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
kver=$(basename "$(ls -d "$kdir"/lib/modules/*/ | head -n 1)")
for m in dca i2c-algo-bit igb; do
	ko=$(find "$kdir/lib/modules/$kver" -name "$m.ko*" | head -n 1)
	[ -n "$ko" ] || skip "no $m module in $kdir"
	case "$ko" in
	*.xz) xz -dc "$ko" >"$root/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$ko" >"$root/lib/modules/$m.ko" ;;
	*) cp "$ko" "$root/lib/modules/$m.ko" ;;
	esac
done
printf 'root:x:0:0::/:/bin/sh\nphcsync:x:101:101::/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nphcsync:x:101:\n' >"$root/etc/group"
printf 'passwd: files\ngroup: files\n' >"$root/etc/nsswitch.conf"
cp "$here/cases.sh" "$root/cases.sh"
cp "$here/../data/leap/future-insert.list" "$root/etc/leap-test.list"
cat >"$root/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
for m in dca i2c-algo-bit igb; do insmod /lib/modules/$m.ko; done
i=0
while [ ! -e /dev/ptp0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip link set eth0 up 2>/dev/null
case_name=$(sed -n 's/.*phcsync_case=\([^ ]*\).*/\1/p' /proc/cmdline)
. /cases.sh
echo "GUEST-START $case_name $(uname -r), booted in $(cut -d ' ' -f 1 /proc/uptime) s"
if [ ! -e /dev/ptp0 ]; then
	echo "GUEST-RESULT FAIL no /dev/ptp0"
else
	"case_$case_name"
fi
sync
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$tmp/initrd.gz"

log=$tmp/console.log
start=$(date +%s)
timeout "${PHCSYNC_GUEST_TIMEOUT:-240}" "$qemu" -accel tcg -m 384 -smp 1 -nographic -no-reboot \
	-kernel "$vmlinuz" -initrd "$tmp/initrd.gz" \
	-append "console=ttyS0 quiet loglevel=4 panic=-1 phcsync_case=$case_name" \
	-device igb,netdev=n0 -netdev user,id=n0 </dev/null >"$log" 2>&1
status=$?
tr -d '\r' <"$log" >"$log.txt"
echo "== guest console (case $case_name, QEMU exit $status, $(($(date +%s) - start)) s wall)"
grep -v '^M \|^P \|^K ' "$log.txt"
if [ -n "${PHCSYNC_GUEST_KEEP:-}" ]; then
	cp "$log.txt" "$PHCSYNC_GUEST_KEEP"
fi
result=$(sed -n 's/^GUEST-RESULT //p' "$log.txt" | tail -n 1)
case "$result" in
PASS* | SKIP*) ;;
*)
	echo "== the probe's record (P MONO_MS OFFSET_NS WINDOW_NS STATE TAI RAW_NS; M marks)"
	grep '^M \|^P ' "$log.txt"
	;;
esac
case "$result" in
PASS*) exit 0 ;;
SKIP*) exit 77 ;;
"") echo "FAIL: the guest gave no result"; exit 1 ;;
*) exit 1 ;;
esac
