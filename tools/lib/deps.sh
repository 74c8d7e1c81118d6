# shellcheck shell=bash
# tools/lib/deps.sh - the Debian packages arca needs, and installing the missing
# ones.  Sourced by tools/up and tools/test; defines functions only.
#
#   arca_deps_install [EXTRA_PACKAGE...]
#
# checks every package with dpkg -s (npm with `command -v npm`: a non-Debian npm,
# e.g. the one bundled with NodeSource's nodejs, is fine); as root it runs
# apt-get update and apt-get install -y for the missing ones; otherwise it prints
# the command to run as root and returns 1.

# sqlite3 (the command-line tool): tests/e2e/audit.test.mjs tampers with the database.
# openssl (the command-line tool): tests/e2e/tls.test.mjs makes a throwaway CA.
# postgresql-15 (the server; its client brings psql): the PostgreSQL test stages
# and tests/e2e/postgres.test.mjs start throwaway clusters with it.
# systemd (for systemd-analyze): tests/e2e/systemd.test.mjs checks the unit.
# prometheus (for its promtool): tests/e2e/metrics.test.mjs checks GET /metrics with
# `promtool check metrics`.  jq: the GitHub action's script (tests/e2e/github_action.test.mjs).
# bsdutils (for script): the tests/e2e/cli_*.test.mjs answer prompts on a pseudo-terminal.
# zlib1g-dev: audit log archives are gzip (src/server/archive.c).
ARCA_DEB_PACKAGES=(meson ninja-build pkg-config gcc libsodium-dev libmicrohttpd-dev
    libjansson-dev libyaml-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev libpcre2-dev
    zlib1g-dev libcriterion-dev nodejs sqlite3 openssl postgresql-15 systemd prometheus jq bsdutils)

# clang and its runtime libraries (libFuzzer, ASan, UBSan): tools/fuzz, the
# `fuzz` stage of tools/test.
ARCA_FUZZ_PACKAGES=(clang libclang-rt-14-dev)

# The browser tests (tests/web, tools/test's web stage) drive Debian's Chromium
# with playwright-core: never a browser downloaded by npm.
ARCA_WEB_TEST_PACKAGES=(chromium)

# npm ci in web/ (the web app's build dependencies) unless node_modules already
# holds what web/package-lock.json says.
arca_web_npm_ci() {
    if [ -f web/node_modules/.package-lock.json ] &&
        [ ! web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
        return 0
    fi
    (cd web && npm ci --no-audit --no-fund)
}

arca_deps_missing() {
    local p
    for p in "${ARCA_DEB_PACKAGES[@]}" "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || printf '%s\n' "$p"
    done
    command -v npm >/dev/null 2>&1 || printf '%s\n' npm
}

arca_deps_install() {
    if ! command -v dpkg >/dev/null 2>&1; then
        echo "arca: dpkg not found; install by hand: ${ARCA_DEB_PACKAGES[*]} $* npm" >&2
        return 1
    fi
    local missing
    mapfile -t missing < <(arca_deps_missing "$@")
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "arca: missing Debian packages: ${missing[*]}" >&2
        echo "arca: hint: as root run: apt-get update && apt-get install -y ${missing[*]}" >&2
        return 1
    fi
    echo "arca: installing ${missing[*]}" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}
