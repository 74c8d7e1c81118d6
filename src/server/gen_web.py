#!/usr/bin/env python3
"""Builds the web app (web/, Vite) and embeds it into C.

    python3 gen_web.py --web-dir WEB --dist DIR [--prebuilt DIR2] [--disabled] out/web_assets.c
    python3 gen_web.py --web-dir WEB --dist DIR --build-only

Runs `vite build` in WEB (its node_modules come from `npm ci`, which tools/up
and tools/test run) into DIR, unless DIR already holds the build of the same
inputs (a hash of web/'s sources, kept in DIR/.inputs).  Every file of the
build becomes a struct web_asset (web.h): its bytes, their gzip (level 9, no
timestamp, so builds are reproducible) when that is smaller, a strong ETag
(BLAKE2b of the bytes) and its content type; files under assets/ have
content-hashed names and are served as immutable.  The output is rewritten
only when it changes, so an unchanged app costs no recompilation.
With --disabled (meson -Dweb=disabled) the table is empty and the server
answers that the app is not built in.

Where Vite cannot run (a container's build stage: Debian 12's Node is too old
for it), --prebuilt names a build made elsewhere with --build-only (web/dist,
which tools/container/test.sh makes before `podman build`): it is embedded when
its .inputs says it is the build of these very sources, and refused otherwise.
"""

import gzip
import hashlib
import os
import subprocess
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
}
SOURCES = ("index.html", "vite.config.ts", "package-lock.json", "tsconfig.json", "src", "public")


def die(msg):
    sys.exit("gen_web.py: " + msg)


def inputs_hash(web):
    h = hashlib.blake2b(digest_size=16)
    for top in SOURCES:
        p = os.path.join(web, top)
        files = [p] if os.path.isfile(p) else []
        for root, dirs, names in os.walk(p):
            dirs.sort()
            files += [os.path.join(root, n) for n in sorted(names)]
        for f in files:
            h.update(os.path.relpath(f, web).encode() + b"\0")
            with open(f, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def built_from(dist, digest):
    """Does dist hold the build of the sources whose hash is digest?"""
    try:
        with open(os.path.join(dist, ".inputs")) as f:
            return f.read() == digest
    except OSError:
        return False


def build(web, dist, prebuilt=None):
    """The directory that holds the build of web's sources: dist, built now
    unless it is current, or prebuilt when Vite is not here."""
    vite = os.path.abspath(os.path.join(web, "node_modules", ".bin", "vite"))
    stamp = os.path.join(dist, ".inputs")
    digest = inputs_hash(web)
    if built_from(dist, digest):
        return dist
    if not os.path.exists(vite):
        if prebuilt and built_from(prebuilt, digest):
            return prebuilt
        if prebuilt and os.path.exists(os.path.join(prebuilt, ".inputs")):
            die("%s is the build of other sources than %s's: build it again "
                "(python3 src/server/gen_web.py --web-dir web --dist web/dist --build-only)"
                % (prebuilt, web))
        die("%s is missing: run (cd web && npm ci --no-audit --no-fund) first, "
            "or configure with -Dweb=disabled" % vite)
    env = dict(os.environ, ARCA_WEB_OUT=os.path.abspath(dist))
    r = subprocess.run([vite, "build", "--logLevel", "warn"], cwd=web, env=env)
    if r.returncode != 0:
        die("vite build failed")
    with open(stamp, "w") as f:
        f.write(digest)
    return dist


def c_bytes(data):
    """A C string literal of data, 3-digit octal escapes for all but plain ASCII
    (an octal escape never swallows the digit after it)."""
    out, line = [], []
    n = 0
    for b in data:
        c = chr(b)
        if 32 <= b < 127 and c not in '\\"?':
            line.append(c)
            n += 1
        else:
            line.append("\\%03o" % b)
            n += 4
        if n >= 96:
            out.append('    "%s"' % "".join(line))
            line, n = [], 0
    if line or not out:
        out.append('    "%s"' % "".join(line))
    return "\n".join(out)


def assets(dist):
    found = []
    for root, dirs, names in os.walk(dist):
        dirs.sort()
        for n in sorted(names):
            if n.startswith("."):
                continue
            full = os.path.join(root, n)
            rel = "/" + os.path.relpath(full, dist).replace(os.sep, "/")
            ext = os.path.splitext(n)[1].lower()
            if ext not in TYPES:
                die("'%s': unknown file type (add it to TYPES)" % rel)
            with open(full, "rb") as f:
                found.append((rel, TYPES[ext], f.read()))
    if not any(rel == "/index.html" for rel, _, _ in found):
        die("the build has no index.html")
    return found


def render(found):
    out = ["/* generated by gen_web.py - do not edit */\n",
           '#include "server/web.h"\n\n']
    rows = []
    for i, (rel, ctype, data) in enumerate(found):
        gz = gzip.compress(data, compresslevel=9, mtime=0)
        has_gz = len(gz) < len(data)
        etag = '\\"%s\\"' % hashlib.blake2b(data, digest_size=16).hexdigest()
        out.append("static const char body_%d[] =\n%s;\n" % (i, c_bytes(data)))
        if has_gz:
            out.append("static const char gz_%d[] =\n%s;\n" % (i, c_bytes(gz)))
        rows.append('    {"%s", "%s", body_%d, %d, %s, %d, "%s", %s},\n' % (
            rel, ctype, i, len(data), "gz_%d" % i if has_gz else "NULL",
            len(gz) if has_gz else 0, etag, "true" if rel.startswith("/assets/") else "false"))
    out.append("\nconst struct web_asset web_assets[] = {\n")
    out += rows
    out.append("    {NULL, NULL, NULL, 0, NULL, 0, NULL, false},\n};\n")
    out.append("const size_t web_n_assets = %d;\n" % len(rows))
    return "".join(out)


def main(argv):
    web = dist = prebuilt = None
    disabled = build_only = False
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--web-dir":
            web, i = argv[i + 1], i + 2
        elif argv[i] == "--dist":
            dist, i = argv[i + 1], i + 2
        elif argv[i] == "--prebuilt":
            prebuilt, i = argv[i + 1], i + 2
        elif argv[i] == "--disabled":
            disabled, i = True, i + 1
        elif argv[i] == "--build-only":
            build_only, i = True, i + 1
        else:
            args.append(argv[i])
            i += 1
    args = [a for a in args if not a.endswith(".py") and a]
    if build_only and web and dist and not args:
        os.makedirs(dist, exist_ok=True)
        build(web, dist)
        return
    if len(args) != 1 or (not disabled and not (web and dist)):
        die("usage: gen_web.py --web-dir WEB --dist DIR [--prebuilt DIR2] [--disabled] OUTPUT.c"
            " | --web-dir WEB --dist DIR --build-only")
    if disabled:
        text = render([])
    else:
        os.makedirs(dist, exist_ok=True)
        text = render(assets(build(web, dist, prebuilt)))
    try:
        with open(args[0], encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(args[0], "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
