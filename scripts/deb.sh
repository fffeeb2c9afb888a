#!/usr/bin/env bash
# Builds the Debian package from a built tree with dpkg-deb (no debhelper, no debian/
# source tree): scripts/deb.sh BUILD (make deb). Prints the package's path on stdout:
# BUILD/vigil_<version>_<arch>.deb.
#
# What goes where: deploy/debian/ holds the control file, maintainer scripts, the
# packaged configuration and the copyright; deploy/systemd/vigil.service is the unit.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/deb.sh BUILD}

# The version is the Makefile's (git describe), the one the binary reports, through
# the stamp the Makefile keeps. Debian wants a leading digit and no '-' in a package
# without a revision: v1.2.0-5-gabc1234 becomes 1.2.0+5+gabc1234; a tree without a
# release tag, abc1234-dirty, becomes 0~gitabc1234+dirty, below any release.
version=$(cat "$build/version")
case $version in
v[0-9]* | [0-9]*.*) debver=${version#v} ;;
*) debver=0~git$version ;;
esac
debver=${debver//-/+}
arch=$(dpkg --print-architecture)

# dpkg-shlibdeps wants a debian/ directory with a control file and the package's
# files below debian/PACKAGE
work=$build/deb
root=$work/debian/vigil
rm -rf "$work"
install -d -m 0755 "$root/DEBIAN" "$root/usr/sbin" "$root/etc/vigil" \
	"$root/lib/systemd/system" "$root/usr/share/doc/vigil/examples"
# the file output's directory (the unit's LogsDirectory makes it too): the configuration
# works as well for an agent started by hand
install -d -m 0750 "$root/var/log/vigil"
printf 'Source: vigil\n\nPackage: vigil\nArchitecture: any\n' >"$work/debian/control"

# stripped, as Debian ships binaries; the build tree keeps the debug info
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	-o "$root/usr/sbin/vigil" "$build/vigil"
chmod 0755 "$root/usr/sbin/vigil"
install -m 0644 deploy/debian/vigil.yaml "$root/etc/vigil/vigil.yaml"
install -m 0644 rules/vigil_rules.yaml "$root/etc/vigil/vigil_rules.yaml"
install -m 0644 deploy/debian/vigil_rules.local.yaml "$root/etc/vigil/vigil_rules.local.yaml"
install -m 0644 deploy/systemd/vigil.service "$root/lib/systemd/system/vigil.service"
doc=$root/usr/share/doc/vigil
install -m 0644 deploy/debian/copyright README.md "$doc/"
# every key with its default, as the packaged configuration points to
install -m 0644 deploy/vigil.yaml "$doc/examples/vigil.yaml"
for f in RULES OUTPUTS ACTIONS EVENTS; do
	gzip -9n <"docs/$f.md" >"$doc/$f.md.gz"
	chmod 0644 "$doc/$f.md.gz"
done
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$root/DEBIAN/"

# Depends: the packages of the libraries the binary links, at the versions their
# symbols need (libcurl is dlopen'ed: Recommends in the control file)
depends=$(cd "$work" && dpkg-shlibdeps -O debian/vigil/usr/sbin/vigil |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || {
	echo "deb.sh: dpkg-shlibdeps found no dependencies for $build/vigil" >&2
	exit 1
}
size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
grep -v '^#' deploy/debian/control |
	sed -e "s/@VERSION@/$debver/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
		-e "s/@SHLIBS@/$depends/" >"$root/DEBIAN/control"
# everything under /etc is the administrator's once installed: dpkg asks before it
# replaces a changed file, and purge removes them
(cd "$root" && find etc -type f -printf '/%p\n' | sort) >"$root/DEBIAN/conffiles"
(cd "$root" && find usr lib -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

out=$build/vigil_${debver}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
