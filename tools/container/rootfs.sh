#!/usr/bin/env bash
# tools/container/rootfs.sh DEST - the root file system of arca's image (Dockerfile), made
# in the build stage after the .deb was installed there: /usr/bin/arca, the shared
# libraries it links and the two it loads when first used (libcurl: the CLI and `arca
# status`; libpq: PostgreSQL), each with its own closure, copied from that Debian 12
# system; CA certificates; a passwd/group with the user arca (10001); /data (0700, arca's)
# and /tmp.  No shell, no package manager: nothing in the image but what arca runs on.
set -euo pipefail
dest=${1:?usage: rootfs.sh DEST}
arch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
libdir=/usr/lib/$arch

rm -rf "$dest"
mkdir -p "$dest/usr/bin" "$dest$libdir" "$dest/etc/ssl/certs" "$dest/data" "$dest/tmp"
# merged /usr, as on the Debian it comes from: /lib, /lib64 -> usr/...
for l in /lib /lib64 /bin /sbin; do
    [ -L "$l" ] && cp -P "$l" "$dest$l"
done
install -m 0755 /usr/bin/arca "$dest/usr/bin/arca"

# Every file ldd resolves for arca and for the libraries it dlopens (src/base/dynlib.h),
# plus libgcc_s (glibc loads it to unwind a thread that is cancelled or exits early).
objs=(/usr/bin/arca "$libdir/libcurl.so.4" "$libdir/libpq.so.5" "$libdir/libmicrohttpd.so.12"
    "$libdir/libgcc_s.so.1")
mapfile -t libs < <(for o in "${objs[@]}"; do
    echo "$o"
    ldd "$o" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u)
for l in "${libs[@]}"; do
    [ "$l" = /usr/bin/arca ] && continue
    d=$(realpath "$(dirname "$l")")
    mkdir -p "$dest$d"
    cp -L "$l" "$dest$d/$(basename "$l")"
done
# what ldd cannot see must be there too: fail the build rather than the container
for o in "${objs[@]}"; do
    [ -e "$dest$(realpath "$(dirname "$o")")/$(basename "$o")" ] || [ "$o" = /usr/bin/arca ] ||
        { echo "rootfs.sh: $o missing" >&2; exit 1; }
done

cp -L /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\narca:x:10001:10001:arca:/data:/sbin/nologin\n' \
    >"$dest/etc/passwd"
printf 'root:x:0:\narca:x:10001:\n' >"$dest/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$dest/etc/nsswitch.conf"
chown 10001:10001 "$dest/data"
chmod 0700 "$dest/data"
chmod 1777 "$dest/tmp"
du -sh "$dest"
