#!/bin/bash
# PID 1 of a test guest (scripts/kernels.sh run), in the overlay of the host's root:
# mounts what a machine has, runs the command the host wrote to $VIGIL_RUNDIR/cmd and
# hands its status back (a file in the shared results dir, and isa-debug-exit).
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

finish() {
	local rc=$1
	echo "$rc" >"$VIGIL_RUNDIR/rc" 2>/dev/null
	sync
	# QEMU exits with (rc << 1) | 1; 0..127 fit
	[ "$rc" -le 127 ] || rc=127
	printf "\\x$(printf %02x "$rc")" | dd of=/dev/port bs=1 seek=244 count=1 status=none
	echo o >/proc/sysrq-trigger
	sleep 10
	exit 1 # PID 1 gone: a panic, which ends QEMU (-no-reboot)
}

fail() {
	echo "kernels: guest: $*" >&2
	finish 125
}

mnt() { # type target [options]
	mkdir -p "$2"
	mount -t "$1" ${3:+-o "$3"} "$1" "$2" || fail "mounting $1 on $2 failed"
}

# all in one function, parsed whole before it runs: the file may change on the host
# while a guest runs it
main() {
	mnt proc /proc
	mnt sysfs /sys
	mountpoint -q /dev || mnt devtmpfs /dev
	mnt devpts /dev/pts gid=5,mode=620,ptmxmode=666
	mnt tmpfs /dev/shm mode=1777
	mnt tmpfs /run mode=755
	mnt tmpfs /tmp mode=1777
	# /var/tmp stays on the root's overlay, as on a host: the same filesystem as /etc, so
	# a rename or link between them works as there (a tmpfs here made them EXDEV)
	mnt securityfs /sys/kernel/security
	mnt tracefs /sys/kernel/tracing
	mnt debugfs /sys/kernel/debug
	mnt bpf /sys/fs/bpf mode=700
	mnt cgroup2 /sys/fs/cgroup nsdelegate
	# container storage of the guest's own (overlay cannot stack on the root's overlay)
	mnt tmpfs /var/lib/containers mode=700
	# the results dir, writable, at the host's path
	results=$(dirname "$(dirname "$VIGIL_RUNDIR")")
	mkdir -p "$results"
	mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=512000 results "$results" ||
		fail "mounting the results dir over 9p on $results failed"
	# the guest kernel's modules where modprobe looks: the kernel loads what it needs
	kver=$(uname -r)
	mkdir -p "/lib/modules/$kver"
	mount --bind "$VIGIL_KROOT/lib/modules/$kver" "/lib/modules/$kver" || fail "binding the modules of $kver"
	# its config where libbpf (CONFIG_* externs) and bpftool look for it
	mkdir -p /boot
	cp "$VIGIL_KROOT/boot/config-$kver" "/boot/config-$kver" 2>/dev/null || fail "no config-$kver in $VIGIL_KROOT/boot"
	hostname "$VIGIL_HOSTNAME"
	# iproute2's ip, or busybox's on a root without it
	if command -v ip >/dev/null; then ip link set lo up; else busybox ip link set lo up; fi ||
		fail "lo did not come up"
	ln -sf /proc/self/fd /dev/fd 2>/dev/null
	[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
	[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
	[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr

	[ -f "$VIGIL_RUNDIR/cmd" ] || fail "$VIGIL_RUNDIR/cmd is missing"
	# the command in a child: PID 1 only reaps and reports
	bash -c "set -e; source $VIGIL_RUNDIR/cmd" </dev/null &
	child=$!
	wait "$child"
	finish $?
}

main
exit
