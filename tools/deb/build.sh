#!/usr/bin/env bash
# tools/deb/build.sh BUILD_DIR OUT_DIR - the Debian package of arca, from a meson build
# directory (its src/cli/arca), with dpkg-deb alone (no debhelper):
#   /usr/bin/arca (stripped)          /lib/systemd/system/arca.service (deploy/systemd)
#   /usr/share/man/man1/arca.1.gz     (when the tree has a man page: docs/arca.1, man/arca.1)
#   /usr/share/doc/arca/{copyright,README.md,docs/*.md}
# postinst makes the system user arca and /etc/arca (0750); it does not enable or start
# the service (a secrets server wants its key in /etc/arca/arca.env first).
# Prints the path of the .deb.  docs/install.md: how to build, install and run it.
set -euo pipefail
build=${1:?usage: tools/deb/build.sh BUILD_DIR OUT_DIR}
out=${2:?usage: tools/deb/build.sh BUILD_DIR OUT_DIR}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$build/src/cli/arca

version=$("$bin" --version | awk 'NR == 1 {print $2}')
arch=$(dpkg --print-architecture)
# What arca links (ldd) and loads on first use (libcurl for the CLI, libpq for PostgreSQL,
# libmicrohttpd for the server),
# by Debian 12 package.  Checked below against the binary, so a new library cannot be
# forgotten here.
depends="libc6 (>= 2.36), libsodium23 (>= 1.0.18), libmicrohttpd12 (>= 0.9.71), libjansson4 (>= 2.13), libyaml-0-2, libsqlite3-0 (>= 3.35), libpcre2-8-0, libcurl4, libpq5, zlib1g"
for name in $(readelf -d "$bin" | awk '/NEEDED/ {gsub(/[][]/, "", $5); print $5}'); do
    # "libx.so.1 => /path (addr)", or the loader's "/lib64/ld-linux-x86-64.so.2 (addr)"
    # (NEEDED once thread-local variables are reached through __tls_get_addr)
    lib=$(ldd "$bin" | awk -v n="$name" '$1 == n {print $3} $1 ~ "/" n "$" {print $1}')
    pkg=$(dpkg -S "$(realpath "$lib")" 2>/dev/null | head -1 | cut -d: -f1) || pkg=
    [ -n "$pkg" ] || pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1) || true
    case " $depends, libc6, " in
    *" ${pkg:-?} "* | *" ${pkg:-?},"*) ;;
    *) echo "tools/deb/build.sh: $lib (package '${pkg:-unknown}') is not in Depends" >&2
       exit 1 ;;
    esac
done

root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/share/doc/arca/docs"
install -m 0755 "$bin" "$root/usr/bin/arca"
strip --strip-unneeded "$root/usr/bin/arca"
install -m 0644 "$src/deploy/systemd/arca.service" "$root/lib/systemd/system/arca.service"
for man in "$src/docs/arca.1" "$src/man/arca.1"; do
    if [ -f "$man" ]; then
        install -d "$root/usr/share/man/man1"
        gzip -9n <"$man" >"$root/usr/share/man/man1/arca.1.gz"
        break
    fi
done
install -m 0644 "$src/README.md" "$root/usr/share/doc/arca/README.md"
install -m 0644 "$src"/docs/*.md "$root/usr/share/doc/arca/docs/"
cat >"$root/usr/share/doc/arca/copyright" <<'TXT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: arca

Files: *
License: Apache-2.0
 On Debian systems the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
TXT

cat >"$root/DEBIAN/control" <<TXT
Package: arca
Version: $version
Architecture: $arch
Maintainer: arca developers <arca@localhost>
Section: admin
Priority: optional
Depends: $depends
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Homepage: https://arca.invalid/
Description: self-hosted, end-to-end encrypted secrets manager
 One binary is both the server (SQLite or PostgreSQL; an Infisical-compatible
 REST API) and the command-line tool (login, run, secrets, export, import).
TXT
cat >"$root/DEBIAN/postinst" <<'TXT'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd arca >/dev/null; then
        adduser --system --group --home /var/lib/arca --no-create-home \
            --gecos "arca secrets manager" arca >/dev/null
    fi
    install -d -m 0750 -o root -g arca /etc/arca
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null 2>&1 || true
    fi
fi
exit 0
TXT
cat >"$root/DEBIAN/postrm" <<'TXT'
#!/bin/sh
set -e
# purge keeps /var/lib/arca (the secrets) and the user: removing data is the admin's call
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
TXT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"
mkdir -p "$out"
deb="$out/arca_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
