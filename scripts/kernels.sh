#!/usr/bin/env bash
# Debian kernels under QEMU (TCG) for testing vigil on the kernels users run.
#
#   scripts/kernels.sh fetch VER...        download and unpack the kernels (cached)
#   scripts/kernels.sh run VER -- CMD...   boot VER and run CMD in it; exits with CMD's status
#   scripts/kernels.sh test VER...         the e2e tests in each guest, then the matrix
#   scripts/kernels.sh list                the kernels known and what is cached
#
# VER is 6.1, 6.12 (bookworm) or 5.10 (bullseye). The packages are fetched with
# apt-get download and unpacked under $KERNELS_DIR (build/kernels); nothing is
# installed on this host. The guest's root is this host's root, shared read-only
# over 9p as the lower layer of an overlayfs with a tmpfs upper: the guest sees the
# same files (the checkout at the same path, python3, pytest, gcc) and can write
# anywhere without touching the host. $KERNELS_OUT (build/kernels/out) is shared
# writable at the same path: what the guest writes there the host reads.
#
# Environment: KERNELS_TIMEOUT (seconds, default 1200 for run, 10800 for test) kills a
# hung guest; KERNELS_TESTS (test files or file::test ids for test, default the
# kernel-facing set);
# KERNELS_TCG (single: one host thread for all vCPUs, the default; multi);
# KERNELS_MEM (MiB, default 4096); KERNELS_SMP (default 2); KERNELS_LOG (a file that
# also receives the console; default $KERNELS_OUT/<ver>/console.log).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KERNELS_DIR=${KERNELS_DIR:-$REPO/build/kernels}
KERNELS_OUT=${KERNELS_OUT:-$KERNELS_DIR/out}
KERNELS_TIMEOUT_SET=${KERNELS_TIMEOUT:-}
KERNELS_TIMEOUT=${KERNELS_TIMEOUT:-1200}
KERNELS_TCG=${KERNELS_TCG:-single}
KERNELS_MEM=${KERNELS_MEM:-4096}
KERNELS_SMP=${KERNELS_SMP:-2}
# the LSMs Debian enables, with bpf added (5.10 does not enable bpf by default)
LSMS=lockdown,capability,landlock,yama,apparmor,bpf
# what the guest must load to mount its root; the rest comes from the shared
# /lib/modules of the guest kernel, on demand (the kernel calls the host's modprobe)
INITRD_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

die() {
	echo "kernels: $*" >&2
	exit 1
}

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "'$c' is missing: run 'make deps' (scripts/deps.sh installs it)"
	done
}

# ---- package names ----

# A private apt configuration per suite, under $KERNELS_DIR/apt-<suite>: its own
# sources.list (the suite, its updates and its security suite on deb.debian.org) and
# lists, so what is fetched does not depend on this host's sources (a minimal Debian
# 12 has no bookworm-security, where 6.12 is) and the host's are never touched.
private_apt() {
	local suite=$1 dir=$KERNELS_DIR/apt-$1 key=/usr/share/keyrings/debian-archive-keyring.gpg
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	cat >"$dir/sources.list" <<-EOF
		deb [signed-by=$key] http://deb.debian.org/debian $suite main
		deb [signed-by=$key] http://deb.debian.org/debian $suite-updates main
		deb [signed-by=$key] http://deb.debian.org/debian-security $suite-security main
	EOF
	APTOPTS=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache")
	local out
	if ! out=$(apt-get "${APTOPTS[@]}" -qq update 2>&1) || grep -q '^[WE]:' <<<"$out"; then
		die "the lists of $suite could not be fetched from deb.debian.org: $(grep -m1 '^[WE]:' <<<"$out")"
	fi
}

# the newest linux-image-*-amd64-unsigned package of a kernel line; sets PKG and APTOPTS
package_for() {
	local ver=$1 re suite
	case $ver in
	6.1) suite=bookworm re='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
	6.12) suite=bookworm re='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
	5.10) suite=bullseye re='^linux-image-5\.10\.0-[0-9]+-amd64-unsigned$' ;;
	*) die "unknown kernel '$ver' (known: 6.1 6.12 5.10)" ;;
	esac
	private_apt "$suite"
	PKG=$(apt-cache "${APTOPTS[@]}" search --names-only "$re" | awk '{print $1}' | sort -V | tail -1)
	[ -n "$PKG" ] || die "$ver: $suite has no package matching $re"
}

# ---- fetch ----

fetch_one() {
	local ver=$1 dir=$KERNELS_DIR/$1 pkg deb kver
	if [ -f "$dir/ok" ]; then
		echo "kernels: $ver cached: $(cat "$dir/kver") ($dir)"
		return 0
	fi
	need apt-get dpkg-deb depmod
	package_for "$ver"
	pkg=$PKG
	rm -rf "$dir"
	mkdir -p "$dir/dl"
	echo "kernels: $ver: downloading $pkg"
	# as root, apt's sandbox user cannot write here: the warning about it is expected
	if ! (cd "$dir/dl" && apt-get "${APTOPTS[@]}" -q download "$pkg" 2>&1 |
		{ grep -v 'unsandboxed as root' || true; }); then
		die "$ver: 'apt-get download $pkg' failed"
	fi
	deb=$(ls "$dir"/dl/"${pkg}"_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || die "$ver: 'apt-get download $pkg' left no .deb in $dir/dl"
	dpkg-deb -x "$deb" "$dir/root" || die "$ver: could not unpack $deb"
	kver=$(ls "$dir/root/lib/modules" | head -1)
	[ -n "$kver" ] && [ -f "$dir/root/boot/vmlinuz-$kver" ] || die "$ver: $deb has no kernel image"
	# Debian's package leaves modules.dep to its postinst: make it for this tree
	depmod -b "$dir/root" "$kver" || die "$ver: depmod failed on $dir/root"
	echo "$kver" >"$dir/kver"
	echo "$pkg" >"$dir/package"
	rm -f "$deb"
	touch "$dir/ok"
	echo "kernels: $ver: $kver unpacked in $dir/root"
}

cmd_fetch() {
	[ $# -gt 0 ] || die "usage: $0 fetch VER..."
	local v
	for v in "$@"; do fetch_one "$v"; done
}

# ---- initramfs ----

# a module and the modules it needs, needed ones first, each once (modules.dep)
module_closure() {
	local root=$1 name=$2 line path deps d
	line=$(grep -E "(^|/)${name}\.ko(\.xz|\.zst|\.gz)?:" "$root/modules.dep" || true)
	[ -n "$line" ] || return 0 # built in
	path=${line%%:*}
	deps=${line#*:}
	for d in $deps; do
		d=${d##*/}
		d=${d%%.ko*}
		module_closure "$root" "$d"
	done
	grep -qxF "$path" "$CLOSURE" || echo "$path" >>"$CLOSURE"
}

build_initramfs() {
	local ver=$1 dir=$KERNELS_DIR/$1 kver img stage m
	kver=$(cat "$dir/kver")
	img=$dir/initramfs.cpio.gz
	if [ -f "$img" ] && [ "$img" -nt "$REPO/tests/kernels/init" ] && [ "$img" -nt "$0" ]; then
		return 0
	fi
	need cpio xz gzip
	stage=$(mktemp -d "$dir/initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,lower,ovl,newroot,lib/modules}
	# busybox-static's: the initramfs has no libc
	[ -x /bin/busybox ] || die "/bin/busybox is missing: install busybox-static (make deps)"
	! ldd /bin/busybox >/dev/null 2>&1 || die "/bin/busybox is dynamically linked: install busybox-static"
	cp /bin/busybox "$stage/bin/busybox"
	for m in sh mount umount mkdir insmod switch_root cat echo sleep; do
		ln -s busybox "$stage/bin/$m"
	done
	CLOSURE=$stage/modules.list
	: >"$CLOSURE"
	for m in "${INITRD_MODULES[@]}"; do
		module_closure "$dir/root/lib/modules/$kver" "$m"
	done
	local n=0 src base
	: >"$stage/lib/modules/load"
	while read -r m; do
		src=$dir/root/lib/modules/$kver/$m
		base=$(basename "$m")
		case $base in
		*.ko.xz) xz -dc "$src" >"$stage/lib/modules/${base%.xz}" ;;
		*.ko.zst) zstd -qdc "$src" >"$stage/lib/modules/${base%.zst}" ;;
		*.ko.gz) gzip -dc "$src" >"$stage/lib/modules/${base%.gz}" ;;
		*.ko) cp "$src" "$stage/lib/modules/$base" ;;
		*) die "$ver: unexpected module file $src" ;;
		esac || die "$ver: could not decompress $src"
		echo "${base%.ko*}.ko" >>"$stage/lib/modules/load"
		n=$((n + 1))
	done <"$CLOSURE"
	rm -f "$CLOSURE"
	cp "$REPO/tests/kernels/init" "$stage/init"
	chmod 755 "$stage/init"
	(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$img.tmp" || die "$ver: cpio failed"
	mv "$img.tmp" "$img"
	rm -rf "$stage"
	echo "kernels: $ver: initramfs with $n modules: $img"
}

# ---- run ----

cmd_run() {
	local ver=${1:-}
	[ -n "$ver" ] || die "usage: $0 run VER -- CMD..."
	shift
	[ "${1:-}" = "--" ] && shift
	[ $# -gt 0 ] || die "usage: $0 run VER -- CMD..."
	need qemu-system-x86_64 timeout
	fetch_one "$ver" >/dev/null
	build_initramfs "$ver"
	local dir=$KERNELS_DIR/$ver kver rundir log rc
	kver=$(cat "$dir/kver")
	mkdir -p "$KERNELS_OUT/$ver"
	KERNELS_OUT=$(cd "$KERNELS_OUT" && pwd)
	rundir=$(mktemp -d "$KERNELS_OUT/$ver/guest.XXXXXX")
	log=${KERNELS_LOG:-$KERNELS_OUT/$ver/console.log}
	# what the guest runs: the command, where, with which environment
	{
		printf 'cd %q\n' "$PWD"
		local v
		for v in PATH HOME TERM LANG LC_ALL TZ USER LOGNAME; do
			[ -z "${!v:-}" ] || printf 'export %s=%q\n' "$v" "${!v}"
		done
		# the project's own knobs pass through
		while IFS='=' read -r v _; do
			case $v in VIGIL_* | KERNELS_* | PYTEST_*) printf 'export %s=%q\n' "$v" "${!v}" ;; esac
		done < <(env)
		printf 'export VIGIL_GUEST_KERNEL=%q\n' "$ver"
		printf '%q ' "$@"
		echo
	} >"$rundir/cmd"
	echo "kernels: $ver ($kver): booting; console also in $log" >&2
	local start=$SECONDS
	set +e
	timeout -k 10 "$KERNELS_TIMEOUT" qemu-system-x86_64 \
		-nodefaults -no-user-config -nographic -no-reboot \
		-machine pc -accel "tcg,thread=$KERNELS_TCG" -cpu max -smp "$KERNELS_SMP" -m "$KERNELS_MEM" \
		-kernel "$dir/root/boot/vmlinuz-$kver" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=4 lsm=$LSMS rdinit=/init VIGIL_RUNDIR=$rundir VIGIL_REPO=$REPO VIGIL_HOSTNAME=vigil-$ver VIGIL_KROOT=$dir/root" \
		-chardev stdio,id=con,signal=off -serial chardev:con \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$KERNELS_OUT,mount_tag=results,security_model=none,multidevs=remap" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		</dev/null 2>&1 | tee "$log"
	local qrc=${PIPESTATUS[0]}
	set -e
	local took=$((SECONDS - start)) status=
	[ ! -f "$rundir/rc" ] || status=$(cat "$rundir/rc")
	rm -rf "$rundir"
	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		echo "kernels: $ver: guest timed out after ${KERNELS_TIMEOUT}s (KERNELS_TIMEOUT) and was killed" >&2
		return 124
	fi
	if [ -n "$status" ]; then
		rc=$status
	elif [ $((qrc & 1)) -eq 1 ] && [ "$qrc" -gt 1 ]; then
		# isa-debug-exit: QEMU exits with (value << 1) | 1
		rc=$(((qrc >> 1) & 0x7f))
	else
		echo "kernels: $ver: the guest stopped without reporting a status (QEMU exit $qrc); see $log" >&2
		return 125
	fi
	echo "kernels: $ver: command exited with $rc after ${took}s" >&2
	return "$rc"
}

# the e2e files that exercise the sensors, loading and actions in the kernel (the rest
# test the agent's userspace: outputs, rules, packaging)
DEFAULT_TESTS="tests/e2e/test_loader.py tests/e2e/test_process.py tests/e2e/test_files.py
	tests/e2e/test_privilege.py tests/e2e/test_network.py tests/e2e/test_uring.py
	tests/e2e/test_paths.py tests/e2e/test_actions.py tests/e2e/test_actions_deny.py
	tests/e2e/test_actions_entry.py"

cmd_test() {
	[ $# -gt 0 ] || die "usage: $0 test VER..."
	local tests=${KERNELS_TESTS:-$DEFAULT_TESTS} f ver rc start reason
	# the BPF-LSM tests, when this checkout has them
	if [ -z "${KERNELS_TESTS:-}" ]; then
		for f in "$REPO"/tests/e2e/test_lsm*.py; do
			[ -e "$f" ] && tests+=" tests/e2e/${f##*/}"
		done
	fi
	for f in $tests; do
		[ -f "$REPO/${f%%::*}" ] || die "test file ${f%%::*} not found in $REPO"
	done
	[ -n "$KERNELS_TIMEOUT_SET" ] || KERNELS_TIMEOUT=10800
	# an agent's start is minutes under emulation (the verifier): let the tests wait
	export VIGIL_READY_TIMEOUT=${VIGIL_READY_TIMEOUT:-900}
	for ver in "$@"; do
		mkdir -p "$KERNELS_OUT/$ver"
		rm -f "$KERNELS_OUT/$ver/junit.xml" "$KERNELS_OUT/$ver/run.env"
		if ! reason=$(fetch_one "$ver" 2>&1 >/dev/null); then
			reason=$(tail -1 <<<"$reason")
			reason=${reason#kernels: }
			echo "kernels: $ver: not fetched: $reason" >&2
			echo "reason=not fetched: $reason" >"$KERNELS_OUT/$ver/run.env"
			continue
		fi
		echo "kernels: $ver: running $(echo $tests | wc -w) test files (timeout ${KERNELS_TIMEOUT}s)" >&2
		start=$SECONDS
		rc=0
		(cd "$REPO" && cmd_run "$ver" -- /usr/bin/python3 -m pytest -v -rs -p no:cacheprovider \
			--junitxml="$KERNELS_OUT/$ver/junit.xml" $tests) || rc=$?
		{
			echo "kver=$(cat "$KERNELS_DIR/$ver/kver")"
			echo "package=$(cat "$KERNELS_DIR/$ver/package")"
			echo "rc=$rc"
			echo "seconds=$((SECONDS - start))"
			echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
			case $rc in
			124) echo "reason=timed out after ${KERNELS_TIMEOUT}s (KERNELS_TIMEOUT)" ;;
			125) echo "reason=the guest stopped without a status (see $KERNELS_OUT/$ver/console.log)" ;;
			esac
		} >"$KERNELS_OUT/$ver/run.env"
	done
	/usr/bin/python3 "$REPO/tests/kernels/matrix.py" "$KERNELS_OUT" "$@" \
		--markdown "$KERNELS_OUT/matrix.md"
}

cmd_list() {
	local v
	for v in 6.1 6.12 5.10; do
		if [ -f "$KERNELS_DIR/$v/ok" ]; then
			echo "$v $(cat "$KERNELS_DIR/$v/kver") cached"
		else
			echo "$v - not fetched"
		fi
	done
}

main() {
	case ${1:-} in
	fetch) shift && cmd_fetch "$@" ;;
	run) shift && cmd_run "$@" ;;
	test) shift && cmd_test "$@" ;;
	list) cmd_list ;;
	*) die "usage: $0 fetch VER... | run VER -- CMD... | test VER... | list" ;;
	esac
}

# on one line: bash has read all of this file before it runs anything, so editing it
# during a run (hours, for a matrix) does not change the run
main "$@"; exit
