#!/usr/bin/env bash
# Builds vigil's OCI image, localhost/vigil:VERSION and localhost/vigil:latest, with no
# registry: a minimal Debian 12 root made with debootstrap, holding only the shared
# libraries vigil links (and libcurl, which it loads for the webhook outputs), with the
# stripped binary, a default configuration and the default rules, imported into podman.
#
#   scripts/image.sh [BUILD]      (make image; needs root, debootstrap and podman)
#
# The debootstrapped root is cached under $IMAGE_CACHE (default /var/tmp/vigil-image),
# keyed by its package list, and imported once as localhost/vigil-base:KEY; the image
# is that plus one layer (deploy/image/Containerfile), so a rebuild takes seconds.
# Delete the cache and the base image to take the mirror's newest packages (security
# updates). The mirror is this machine's.
set -euo pipefail
script=$(readlink -f "$0")
cd "$(dirname "$script")/.."
build=${1:-build}
vigil=$build/vigil
repo=${IMAGE_REPO:-localhost/vigil}
cache=${IMAGE_CACHE:-/var/tmp/vigil-image}
suite=bookworm

die() {
	echo "image: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, podman's root storage): sudo make image"
[ -x "$vigil" ] || die "$vigil is missing: make $vigil"
for tool in debootstrap podman strip; do
	command -v "$tool" >/dev/null || die "$tool is missing: make deps"
done

# The packages that hold the libraries vigil itself names (NEEDED): apt brings what
# they depend on. libcurl is dlopen'ed, so no NEEDED entry says it; ca-certificates for
# https webhooks.
pkgs=(libcurl4 ca-certificates)
needed=$(objdump -p "$vigil" | awk '$1 == "NEEDED" {print $2}')
libs=() paths=()
while read -r lib arrow path _; do
	[ "$arrow" = "=>" ] && grep -qxF "$lib" <<<"$needed" || continue
	libs+=("$lib")
	paths+=("$path" "$(readlink -f "$path")") # usrmerge: dpkg may know either name
done < <(ldd "$vigil")
[ "${#libs[@]}" -eq "$(wc -l <<<"$needed")" ] || die "ldd $vigil does not find every library it needs"
# one dpkg -S for all (it takes most of a second each); a name it does not know fails it
owners=$(dpkg -S "${paths[@]}" 2>/dev/null || true)
for i in "${!libs[@]}"; do
	pkg=$(awk -F': ' -v a="${paths[2 * i]}" -v b="${paths[2 * i + 1]}" \
		'$2 == a || $2 == b {print $1; exit}' <<<"$owners")
	[ -n "$pkg" ] || die "no package owns ${paths[2 * i]} (${libs[i]}, linked by $vigil)"
	pkgs+=("${pkg%%:*}")
done
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)

# The host's mirrors: this machine reaches Debian's mirror and nothing else.
sources=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' <<<"$sources")
security=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}' <<<"$sources")
[ -n "$mirror" ] || mirror=$(awk '/^deb / && $3 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$security" ] || security=$(awk '/^deb / && $3 ~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
security=${security:-http://deb.debian.org/debian-security}

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9 # two builds at once would share the cached root

# the recipe's inputs name the cached root: a changed package list makes a new one
key=$( (printf '%s\n' "$suite" "$mirror" "$security" "${pkgs[@]}" && sed -n '/^# -- root/,/^# -- end/p' "$script") |
	sha256sum | cut -c1-12)
base=$cache/root-$key

# -- root: what goes into the cached root (this block is part of the cache key)
make_root() {
	local root=$1
	echo "image: debootstrap $suite from $mirror with ${pkgs[*]} (log: $root.log)"
	debootstrap --variant=minbase --include="$(
		IFS=,
		echo "${pkgs[*]}"
	)" "$suite" "$root" "$mirror" >"$root.log" 2>&1 ||
		die "debootstrap failed; the end of $root.log:$(echo && tail -20 "$root.log")"
	# debootstrap takes the suite alone: the updates and security fixes come from apt
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: $mirror
		Suites: $suite $suite-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $security
		Suites: $suite-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	{
		chroot "$root" apt-get -qq update &&
			DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -qq -y upgrade
	} >>"$root.log" 2>&1 || die "apt-get upgrade in the root failed; see $root.log"
	# derived images (FROM localhost/vigil) stay small too: dpkg leaves docs out
	cat >"$root/etc/dpkg/dpkg.cfg.d/01-vigil-image" <<-EOF
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-include /usr/share/locale/locale.alias
	EOF
	# what a running agent never reads; the copyright files stay (licences)
	find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	rm -rf "$root"/usr/share/{man,info,lintian,linda,bug,common-licenses/GPL-1}
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
	rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old \
		"$root"/var/lib/dpkg/*-old "$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/*
	# the host's: podman writes its own at run time
	rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
	# no compiler: minbase has none; say so loudly if a dependency ever brings one
	for cc in gcc cc clang c++ tcc; do
		[ ! -e "$root/usr/bin/$cc" ] || die "a compiler ($cc) came into the root"
	done
}
# -- end

if [ ! -f "$base/.done" ]; then
	rm -rf "$cache"/root-* # an older recipe's root
	make_root "$base"
	touch "$base/.done"
fi

# the root as a base image of its own: a rebuild adds one small layer on top of it
base_image=$repo-base:$key
if ! podman image exists "$base_image"; then
	tar -C "$base" --exclude=./.done --numeric-owner -c . |
		podman import --quiet --message "debian $suite minbase for vigil" - "$base_image" >/dev/null
	for img in $(podman images --format '{{.Repository}}:{{.Tag}}' "$repo-base"); do
		# an older recipe's base, unless an image still stands on it
		[ "$img" = "$base_image" ] || podman rmi "$img" >/dev/null 2>&1 || true
	done
fi

version=$("$vigil" version | awk '{print $2}')
[ -n "$version" ] || die "$vigil version printed no version"
stage=$cache/stage
rm -rf "$stage"
mkdir -p "$stage"
strip --strip-unneeded -o "$stage/vigil" "$vigil"
install -m 0644 deploy/image/vigil.yaml deploy/image/rules.yaml rules/vigil_rules.yaml "$stage/"
old=$(podman image inspect --format '{{.Id}}' "$repo:$version" "$repo:latest" 2>/dev/null || true)
podman build --quiet --pull=never --layers=false -f deploy/image/Containerfile \
	--build-arg BASE="$base_image" --build-arg VERSION="$version" \
	--build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
	-t "$repo:$version" -t "$repo:latest" "$stage" >/dev/null
rm -rf "$stage"
# the image this build replaced, now untagged, unless a container still uses it
new=$(podman image inspect --format '{{.Id}}' "$repo:$version")
for id in $(printf '%s\n' $old | sort -u); do
	[ "$id" = "$new" ] || podman rmi "$id" >/dev/null 2>&1 || true
done
size=$(podman image inspect --format '{{.Size}}' "$repo:$version")
echo "image: $repo:$version and $repo:latest, $((size / 1000000)) MB"
