#!/usr/bin/env bash
# tools/container/test.sh - the container stage of tools/test (docs/container.md):
#
#   1. the base image: a Debian 12 made with mmdebstrap when podman's storage has none
#      (no registry is needed; kept in podman's storage as localhost/debian:12-slim, so
#      this costs ~1-2 min once per machine)
#   2. podman build of the Dockerfile (which builds the .deb, installs it with apt and
#      makes the minimal image of it); the image size is printed and must be <= 40 MB;
#      user, port, volume and HEALTHCHECK are checked
#   3. docker-compose.sqlite.yml, then 4. docker-compose.yml (arca and PostgreSQL 15; where
#      no registry serves postgres:15, a stand-in built from Debian's package,
#      tools/container/postgres), each with podman-compose: up, the first workflow with the
#      CLI from the host (bootstrap, login, project, secrets set, run), the HEALTHCHECK, a
#      restart, then down and up again (new containers on the same volumes): the data is
#      still there; the time from `up` to the first 200 is printed
#   5. the .deb (tools/deb/build.sh, made in the build stage): copied out to
#      build-container/, its contents checked; in the build stage's image, where apt
#      installed it: the user, /etc/arca, the unit, a server run as arca, removal
#
# Needs root (podman as root, apt-get for podman, runc, mmdebstrap, podman-compose) and
# the host build of the CLI (ARCA_BIN, default build/src/cli/arca).  Where podman cannot
# run at all it says so and skips (exit 0); on these machines it runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
arca=${ARCA_BIN:-$root/build/src/cli/arca}
export CONTAINERS_CONF=$root/tools/container/containers.conf
base=localhost/debian:12-slim
image=localhost/arca:test
builder=localhost/arca-build:test
out=$root/build-container

pod() { podman --runtime runc "$@"; }
step() { printf '\n--> %s\n' "$*"; }
fail() {
    echo "container: FAILED: $*" >&2
    exit 1
}
ms() { date +%s%3N; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# Waits until the server at $1 answers GET /api/status with 200 (arca status), 60 s at most.
wait_up() {
    local i
    for ((i = 0; i < 600; i++)); do
        "$arca" status --api-url "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# Waits until container $1's log has a line matching $2 (conmon may write it a moment
# after the server answered), 5 s at most.
wait_log() {
    local i
    for ((i = 0; i < 50; i++)); do
        pod logs "$1" 2>&1 | grep -q "$2" && return 0
        sleep 0.1
    done
    pod logs "$1" >&2
    return 1
}

# ---- can podman run here? ----------------------------------------------------------------
need=(podman runc mmdebstrap podman-compose)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        # shellcheck source=tools/lib/deps.sh
        . tools/lib/deps.sh
        arca_deps_install "${missing[@]}" || fail "cannot install ${missing[*]}"
    else
        echo "container: SKIPPED: ${missing[*]} not installed and not root" \
            "(as root: apt-get install -y ${missing[*]})"
        exit 0
    fi
fi
if ! why=$(pod info 2>&1 >/dev/null); then
    echo "container: SKIPPED: podman cannot run here: $why"
    exit 0
fi
[ -x "$arca" ] || fail "no CLI at $arca (build first, or set ARCA_BIN)"

WORK=$(mktemp -d)
export WORK
project=arca-ct-$$
cleanup() {
    if [ -f "$WORK/compose.yml" ]; then
        (cd "$WORK" && podman-compose --podman-args='--runtime runc' -p "$project" \
            -f compose.yml down -v >/dev/null 2>&1) || true
    fi
    pod volume rm -f "${project}_arca-data" >/dev/null 2>&1 || true
    pod network rm -f "${project}_default" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---- 1 base image --------------------------------------------------------------------------
if ! pod image exists "$base"; then
    step "base image $base: mmdebstrap --variant=minbase bookworm (once per machine)"
    mkdir -p "$out"
    mmdebstrap --variant=minbase --include=ca-certificates bookworm "$out/deb12.tar"
    pod import "$out/deb12.tar" "$base" >/dev/null
    rm -f "$out/deb12.tar"
fi

# ---- 2 the image -------------------------------------------------------------------------
step "the web app, built here (Vite needs a newer Node than the image's Debian has)"
# web/dist is the build of web/'s sources; the image's build stage embeds it (gen_web.py
# --prebuilt) and refuses one made from other sources
python3 src/server/gen_web.py --web-dir web --dist web/dist --build-only ||
    fail "the web app's build (run (cd web && npm ci) first)"
step "podman build (the .deb, installed with apt, then the minimal image)"
# the images this replaces (a build stage is 800 MB): removed once the new ones exist
old=$(pod image inspect --format '{{.Id}}' "$image" "$builder" 2>/dev/null || true)
t=$(ms)
pod build --network=host --format docker --pull=never --build-arg "BASE=$base" -t "$image" . \
    >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "podman build"; }
grep -E 'STEP|^arca [0-9]|/rootfs$' "$WORK/build.log" || true
pod build --network=host --format docker --pull=never --build-arg "BASE=$base" --target build \
    -t "$builder" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "podman build --target build"; }
echo "build: $(($(ms) - t)) ms"
# PostgreSQL 15 for docker-compose.yml: the postgres:15 image where a registry serves it,
# else a stand-in built from Debian's package (tools/container/postgres)
pgimage=localhost/arca-test-postgres:15
if pod image exists docker.io/library/postgres:15; then
    pgimage=docker.io/library/postgres:15
else
    pod build --network=host --pull=never --build-arg "BASE=$base" -t "$pgimage" \
        tools/container/postgres >"$WORK/build.log" 2>&1 ||
        { tail -40 "$WORK/build.log"; fail "podman build tools/container/postgres"; }
fi
new=$(pod image inspect --format '{{.Id}}' "$image" "$builder")
for id in $old; do
    grep -qx "$id" <<<"$new" || pod rmi "$id" >/dev/null 2>&1 || true
done
size=$(pod image inspect "$image" --format '{{.Size}}')
printf 'image size: %d.%d MB (%d bytes; goal <= 40 MB)\n' $((size / 1000000)) \
    $((size % 1000000 / 100000)) "$size"
[ "$size" -le 40000000 ] || fail "the image is $size bytes, over 40 MB"
cfg=$(pod image inspect "$image" --format \
    '{{.Config.User}}|{{json .Config.ExposedPorts}}|{{json .Config.Volumes}}|{{json .HealthCheck.Test}}')
echo "config: $cfg"
[ "$cfg" = '10001:10001|{"8200/tcp":{}}|{"/data":{}}|["CMD","/usr/bin/arca","status","--api-url","http://127.0.0.1:8200"]' ] ||
    fail "the image's user, port, volume or HEALTHCHECK is not as the Dockerfile says"
pod run --rm --network=none --no-healthcheck "$image" --version | grep -q '^arca ' || fail "arca --version in the image"
! pod run --rm --network=none --no-healthcheck --entrypoint /bin/sh "$image" -c true >/dev/null 2>&1 ||
    fail "the image has a shell: it should hold arca and its libraries only"

# ---- 3, 4 compose: the first workflow, restart, recreate ----------------------------------
ARCA_ENCRYPTION_KEY=$(head -c32 /dev/urandom | base64)
POSTGRES_PASSWORD=$(head -c18 /dev/urandom | base64 | tr -d /+=)
PW=$(head -c18 /dev/urandom | base64)
export ARCA_ENCRYPTION_KEY POSTGRES_PASSWORD ARCA_IMAGE=$image ARCA_POSTGRES_IMAGE=$pgimage
compose() {
    (cd "$WORK" && podman-compose --podman-args='--runtime runc' -p "$project" -f compose.yml "$@") \
        >"$WORK/compose.log" 2>&1 || { cat "$WORK/compose.log"; fail "podman-compose $*"; }
}

# compose_test FILE STORE: up, the first workflow from the host's CLI, the HEALTHCHECK, a
# restart, down and up (new containers, the same volumes): the data is still there.
compose_test() {
    local file=$1 store=$2 port url ctr pid got t
    cp "$file" "$WORK/compose.yml"
    port=$(free_port)
    url=http://127.0.0.1:$port
    export ARCA_PORT=$port ARCA_SITE_URL=$url
    ctr=${project}_arca_1
    t=$(ms)
    compose up -d
    wait_up "$url" || { pod logs "$ctr"; fail "$file: the container does not answer on $url"; }
    echo "container start to first 200: $(($(ms) - t)) ms"
    wait_log "$ctr" "\"msg\":\"listening\".*\"store\":\"$store\".*\"siteUrl\":\"$url\"" ||
        fail "$file: the start line does not name the $store store and ARCA_SITE_URL"
    [ "$(pod top "$ctr" user | tail -1 | tr -d ' ')" = arca ] || fail "the server does not run as arca"

    export ARCA_API_URL=$url ARCA_CONFIG_DIR=$WORK/config-$store
    echo "$PW" | "$arca" bootstrap --email admin@example.com --password-stdin --organization acme \
        >/dev/null 2>&1 || fail "$file: arca bootstrap"
    echo "$PW" | "$arca" login --email admin@example.com --password-stdin >/dev/null 2>&1 ||
        fail "$file: arca login"
    pid=$("$arca" projects create shop --format json | jq -r .id)
    "$arca" secrets set DATABASE_URL=postgres://u:p@db/prod 'GREETING=hello
world' --env=prod --project-id "$pid" >/dev/null
    # shellcheck disable=SC2016 # expanded by the child
    got=$("$arca" run --env=prod --project-id "$pid" -- sh -c 'printf "%s|%s" "$DATABASE_URL" "$GREETING"')
    [ "$got" = "postgres://u:p@db/prod|hello
world" ] || fail "$file: arca run against the container gave '$got'"
    echo "workflow: bootstrap, login, project, secrets set, run: ok"
    got=$(curl -sS -D - -o "$WORK/index.html" "$url/")
    grep -qi "^content-security-policy: default-src 'self'" <<<"$got" &&
        grep -q '<div id="app"' "$WORK/index.html" ||
        fail "$file: / does not serve the web app with its CSP: $got"
    echo "web app: / serves it, with its Content-Security-Policy"
    pod healthcheck run "$ctr" >/dev/null 2>&1 || fail "$file: the HEALTHCHECK does not pass"
    echo "HEALTHCHECK: healthy"

    pod restart "$ctr" >/dev/null 2>&1
    check_data "$url" "$pid" "a container restart"
    compose down
    compose up -d
    check_data "$url" "$pid" "compose down and up (new containers, the same volumes)"
    compose down -v
}
check_data() { # URL PROJECT WHAT
    wait_up "$1" || { pod logs "${project}_arca_1"; fail "no answer after $3"; }
    [ "$("$arca" secrets get DATABASE_URL --plain --env=prod --project-id "$2")" = postgres://u:p@db/prod ] ||
        fail "the secret is gone after $3"
    echo "after $3: the session and the secrets are still there"
}

step "docker-compose.sqlite.yml with podman-compose: one container on SQLite"
compose_test docker-compose.sqlite.yml sqlite
step "docker-compose.yml with podman-compose: arca and PostgreSQL 15 ($pgimage)"
compose_test docker-compose.yml postgres

# ---- 5 the .deb -----------------------------------------------------------------------------
step "the .deb from the build stage"
mkdir -p "$out"
rm -f "$out"/arca_*.deb
c=$(pod create "$builder" true)
pod cp "$c:/out/." "$out/" >/dev/null
pod rm "$c" >/dev/null
deb=$(ls "$out"/arca_*.deb)
echo "$deb ($(stat -c %s "$deb") bytes)"
dpkg-deb -c "$deb" | awk '{print $NF}' >"$WORK/deb.list"
for f in ./usr/bin/arca ./lib/systemd/system/arca.service ./usr/share/doc/arca/copyright; do
    grep -qx "$f" "$WORK/deb.list" || fail "$f is not in the .deb"
done
dpkg-deb -f "$deb" Depends | grep -q libsodium23 || fail "the .deb's Depends"
dport=$(free_port)
# shellcheck disable=SC2016 # expanded in the container
pod run --rm --network=host -e DPORT="$dport" "$builder" bash -ec '
    dpkg -s arca | grep -q "^Status: install ok installed"
    id arca >/dev/null
    [ "$(stat -c %a:%U:%G /etc/arca)" = 750:root:arca ]
    grep -q "^ExecStart=/usr/bin/arca server" /lib/systemd/system/arca.service
    mkdir -p /var/lib/arca && chown arca:arca /var/lib/arca
    runuser -u arca -- arca server --listen 127.0.0.1:$DPORT --data-dir /var/lib/arca 2>/dev/null &
    for i in $(seq 300); do arca status --api-url http://127.0.0.1:$DPORT >/dev/null 2>&1 && break; sleep 0.1; done
    arca status --api-url http://127.0.0.1:$DPORT
    kill %1; wait %1 || true
    DEBIAN_FRONTEND=noninteractive apt-get remove -y arca >/dev/null 2>&1
    ! command -v arca >/dev/null
    [ -f /var/lib/arca/arca.db ]
    echo "installed with apt: user arca, /etc/arca 0750, the unit, a server run as arca; removed, data kept"
'
echo
echo "container: all checks passed"
