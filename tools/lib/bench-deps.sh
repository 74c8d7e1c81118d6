# shellcheck shell=bash
# tools/lib/bench-deps.sh - the Debian packages bench/run.mjs needs besides
# arca's own (tools/lib/deps.sh, which must be sourced first): nginx-light, the
# peer HTTP server, wrk, the load generator, and linux-perf, for the CPU
# breakdown of bench/profile.mjs.  Defines functions only.
#
#   arca_bench_deps_install    installs arca's and the bench's missing packages
#                              (as root; otherwise prints the command, returns 1)

ARCA_BENCH_PACKAGES=(nginx-light wrk linux-perf)

arca_bench_deps_install() {
    arca_deps_install "${ARCA_BENCH_PACKAGES[@]}"
}
