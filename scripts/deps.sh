#!/usr/bin/env bash
# Installs, from Debian's packages, whatever vigil needs to build, run and test that
# is missing. Quick when everything is there: only dpkg is asked.
set -euo pipefail

pkgs=(
	# clang also builds the e2e tests' static 32-bit program (-m32 -nostdlib: no 32-bit libc);
	# libclang-rt-dev holds its fuzzer runtime (make fuzz)
	make clang libclang-rt-dev clang-format llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
	libyaml-dev libpcre2-dev libcriterion-dev libmicrohttpd-dev libcurl4-openssl-dev liburing-dev
	python3 python3-pytest
	podman runc containerd busybox-static iproute2 iputils-ping
	prometheus prometheus-alertmanager rsyslog openssl nodejs
	auditd bpftrace python3-yaml systemd
	# make image and make deb: a minimal Debian root, a stripped binary, dpkg-shlibdeps
	debootstrap binutils dpkg-dev
	# DNS tests: a local server (dnsmasq-base: the binary without the system service) and dig
	dnsmasq-base bind9-dnsutils
	# precision tests: ordinary work (a cron run and a service restart, git, ssh-keygen, venv)
	cron git openssh-client python3-venv procps gdb curl
	# make test-kernels (scripts/kernels.sh): Debian kernels under QEMU, an initramfs of
	# busybox-static and their modules (depmod; .ko.xz unpacked), the host's root over 9p
	qemu-system-x86 busybox-static kmod cpio xz-utils zstd
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# the tests parse PromQL with an npm package; some nodejs builds ship npm, Debian's does not
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (sudo make deps) to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq || true
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
