#!/bin/sh
# deb/build.sh - `make deb`: the Debian binary package consentd, built with
# Debian's own tools from the project's one install rule.
#
#   sh deb/build.sh        -> build/consentd_VERSION_ARCH.deb (path printed last)
#
# Steps: `make install DESTDIR=... PREFIX=/usr` with Debian's hardening flags
# into its own object folder (build/deb/, so a plain `make` build is never
# mixed in), binaries stripped, modes normalised, copyright and changelog
# added, every file under /etc a conffile, Depends from dpkg-shlibdeps, then
# dpkg-deb --root-owner-group (no root, no fakeroot needed).
#
# The version is deb/changelog's first entry; its upstream part must be
# consentd's own (CONSENTD_VERSION in cgi/main.c), or the build stops.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)

for tool in dpkg-deb dpkg-shlibdeps dpkg-parsechangelog dpkg-buildflags strip; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "deb: $tool is missing (apt-get install dpkg-dev binutils)" >&2; exit 1; }
done

version=$(dpkg-parsechangelog -l deb/changelog -S Version)
upstream=${version%-*}
code=$(sed -n 's/^#define CONSENTD_VERSION "\(.*\)"$/\1/p' cgi/main.c)
if [ "$upstream" != "$code" ]; then
    echo "deb: deb/changelog says $version but cgi/main.c says $code;" \
         "add a changelog entry (or fix CONSENTD_VERSION)" >&2
    exit 1
fi
if [ -e LICENSE ] && grep -q '^License: unspecified' deb/copyright; then
    echo "deb: the project has a LICENSE now; name it in deb/copyright" >&2
    exit 1
fi
arch=$(dpkg --print-architecture)
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l deb/changelog -S Timestamp)
export SOURCE_DATE_EPOCH

# debian/control and debian/consentd/ are where dpkg-shlibdeps expects them.
work=build/deb-pkg
pkg=$work/debian/consentd
rm -rf "$work"
mkdir -p "$pkg/DEBIAN"
printf 'Source: consentd\n\nPackage: consentd\nArchitecture: any\n' >"$work/debian/control"

# The release build with Debian's hardening flags (-O2 -g, stack protector,
# _FORTIFY_SOURCE, format-security, full RELRO); --as-needed drops libm,
# which only consentctl uses.
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags="$(dpkg-buildflags --get LDFLAGS) -Wl,-z,now -Wl,--as-needed"
# make does not rebuild when only the flags change: start over when they do.
flags="$cflags | $ldflags"
if [ "$(cat build/deb.flags 2>/dev/null || true)" != "$flags" ]; then
    rm -rf build/deb
    mkdir -p build
    printf '%s\n' "$flags" >build/deb.flags
fi
${MAKE:-make} --no-print-directory install DESTDIR="$root/$pkg" PREFIX=/usr \
    UNITDIR=/lib/systemd/system RELEASE=build/deb \
    CFLAGS="$cflags" LDFLAGS="$ldflags" >"$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2; echo "deb: make install failed" >&2; exit 1; }

# The support tokens file is the operator's data, like the keys, and must
# stay 0600: the package does not ship it (its modes are normalised below,
# and an upgrade must never replace it); postinst creates an empty one.
rm -f "$pkg/etc/consentd/admin-tokens.json"

# Modes as Debian wants them whatever the checkout's umask: directories and
# programs 0755, everything else 0644; binaries stripped as dh_strip does.
find "$pkg" -path "$pkg/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
find "$pkg" -path "$pkg/DEBIAN" -prune -o -type f -exec chmod 0644 {} +
for bin in usr/sbin/consentd usr/bin/consentctl; do
    strip --remove-section=.comment --remove-section=.note --strip-unneeded "$pkg/$bin"
    chmod 0755 "$pkg/$bin"
done

# The unit names /var/lib/GeoIP in ReadOnlyPaths=, and systemd refuses to
# start a unit whose ReadOnlyPaths= folder is missing: the package owns the
# (empty) folder, as geoipupdate does; the database itself is the operator's.
install -d -m 0755 "$pkg/var/lib/GeoIP"

doc=$pkg/usr/share/doc/consentd
install -m 0644 deb/copyright "$doc/copyright"
gzip -9 -n -c deb/changelog >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
mkdir -p "$pkg/usr/share/man/man8" "$pkg/usr/share/man/man1" "$pkg/usr/share/lintian/overrides"
gzip -9 -n -c deb/consentd.8 >"$pkg/usr/share/man/man8/consentd.8.gz"
gzip -9 -n -c deb/consentctl.1 >"$pkg/usr/share/man/man1/consentctl.1.gz"
install -m 0644 deb/lintian-overrides "$pkg/usr/share/lintian/overrides/consentd"
chmod 0644 "$pkg/usr/share/man/man8/consentd.8.gz" "$pkg/usr/share/man/man1/consentctl.1.gz"

# Maintainer scripts (they enable and start nothing) and conffiles: every
# file under /etc, so dpkg keeps an operator's edits on upgrade.
for s in postinst prerm postrm; do
    install -m 0755 "deb/$s" "$pkg/DEBIAN/$s"
done
(cd "$pkg" && find etc -type f | LC_ALL=C sort | sed 's|^|/|') >"$pkg/DEBIAN/conffiles"
chmod 0644 "$pkg/DEBIAN/conffiles"

depends=$(cd "$work" && dpkg-shlibdeps -O debian/consentd/usr/sbin/consentd \
              debian/consentd/usr/bin/consentctl | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@DEPENDS@|$depends|" \
    -e "s|@INSTALLED_SIZE@|$size|" deb/control.in >"$pkg/DEBIAN/control"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -print | LC_ALL=C sort |
     sed 's|^\./||' | xargs md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"

# Every file dated from the changelog entry, so that two builds of the same
# tree give the same package.
find "$pkg" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb=build/consentd_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
