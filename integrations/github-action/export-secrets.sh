#!/usr/bin/env bash
# export-secrets.sh - the body of arca's GitHub Action (action.yml), runnable on its own
# with the variables GitHub sets (GITHUB_ENV, GITHUB_WORKSPACE) and the inputs as INPUT_*.
#
# The machine identity logs in in memory (ARCA_CLIENT_ID / ARCA_CLIENT_SECRET: nothing is
# saved), `arca export --format json` fetches and decrypts the folder(s), jq reads the JSON.
#   env:  each value is masked (::add-mask::, line by line too, as the runner masks lines)
#         and appended to $GITHUB_ENV as   KEY<<DELIM / value / DELIM   with a random
#         delimiter that is checked against every value (a value cannot end the block).
#   file: the dotenv of `arca export --format dotenv` (written 0600, atomically) at
#         $GITHUB_WORKSPACE$INPUT_FILE_OUTPUT_PATH; with recursive, one block per folder,
#         deepest first, so the folder nearest secret-path wins (dotenv and sh: last wins).
# Exit status: arca's on a failed fetch (its message on stderr), 2 on a bad input.
set -euo pipefail

fail() {
    echo "::error::arca: $*" >&2
    exit 2
}

arca=${INPUT_ARCA_BIN:-arca}
command -v "$arca" >/dev/null || fail "the arca binary '$arca' is not installed (see docs/github-action.md)"
command -v jq >/dev/null || fail "jq is needed"
[ "${INPUT_METHOD:-universal}" = universal ] ||
    fail "method '${INPUT_METHOD}' is not supported: use universal (client-id and client-secret)"
[ -n "${INPUT_DOMAIN:-}" ] || fail "the input domain (the arca server's URL) is required"
if [ -z "${INPUT_CLIENT_ID:-}" ] || [ -z "${INPUT_CLIENT_SECRET:-}" ]; then
    fail "the inputs client-id and client-secret are required"
fi
[ -n "${INPUT_ENV_SLUG:-}" ] || fail "the input env-slug is required"
case "${INPUT_EXPORT_TYPE:-env}" in env | file) ;; *) fail "export-type must be env or file" ;; esac
for b in RECURSIVE INCLUDE_IMPORTS; do
    v=INPUT_$b
    case "${!v:-}" in true | false | "") ;; *) fail "${b,,} must be true or false" ;; esac
done

# the identity's secret reaches arca through its environment only, never argv
export ARCA_API_URL=${INPUT_DOMAIN%/}
export ARCA_CLIENT_ID=$INPUT_CLIENT_ID ARCA_CLIENT_SECRET=$INPUT_CLIENT_SECRET
export ARCA_NO_CACHE=1 # a runner is thrown away: keep no encrypted copy on it
echo "::add-mask::$ARCA_CLIENT_SECRET"

project=${INPUT_PROJECT_ID:-}
if [ -z "$project" ]; then
    [ -n "${INPUT_PROJECT_SLUG:-}" ] || fail "give project-id or project-slug"
    project=$("$arca" projects list --format json |
        jq -r --arg s "$INPUT_PROJECT_SLUG" '[.[] | select(.slug == $s) | .id] |
            if length == 1 then .[0] else "" end')
    [ -n "$project" ] || fail "no single project with the slug '$INPUT_PROJECT_SLUG' for this identity"
fi
base=${INPUT_SECRET_PATH:-/}
imports=()
[ "${INPUT_INCLUDE_IMPORTS:-true}" = true ] || imports=(--no-imports)
scope=(--project-id "$project" --env "$INPUT_ENV_SLUG")

# the folders to read: secret-path, then (recursive) every folder below it, deepest last
folders=("$base")
if [ "${INPUT_RECURSIVE:-false}" = true ]; then
    mapfile -t below < <("$arca" folders list --recursive --format json "${scope[@]}" --path "$base" |
        jq -r '.[] | if type == "object" then (.path // .name) else . end' |
        awk '{ print gsub("/", "/") "\t" $0 }' | sort -n -s -k1,1 | cut -f2-)
    folders+=("${below[@]}")
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0700 "$tmp"
n=0
for f in "${folders[@]}"; do
    "$arca" export --format json "${scope[@]}" --path "$f" "${imports[@]}" >"$tmp/$n.json"
    n=$((n + 1))
done
# merged: later files override earlier ones; the deepest folder goes first
merged=$tmp/all.json
for ((i = n - 1; i >= 0; i--)); do echo "$tmp/$i.json"; done | xargs jq -s 'add // {}' >"$merged"

count=$(jq 'length' "$merged")
# masks first, so no later step can print a value unmasked
jq -r 'to_entries[] | .value | @base64' "$merged" | while read -r b64; do
    value=$(printf '%s' "$b64" | base64 -d; echo x)
    value=${value%x}
    esc=${value//'%'/'%25'}
    esc=${esc//$'\r'/'%0D'}
    esc=${esc//$'\n'/'%0A'}
    [ -z "$esc" ] || echo "::add-mask::$esc"
    if [[ $value == *$'\n'* ]]; then
        while IFS= read -r line; do
            [ -z "$line" ] || echo "::add-mask::$line"
        done <<<"$value"
    fi
done

if [ "${INPUT_EXPORT_TYPE:-env}" = env ]; then
    [ -n "${GITHUB_ENV:-}" ] || fail "GITHUB_ENV is not set (run this in a GitHub Actions job)"
    jq -r 'to_entries[] | [.key, (.value | @base64)] | @tsv' "$merged" | while IFS=$'\t' read -r key b64; do
        value=$(printf '%s' "$b64" | base64 -d; echo x)
        value=${value%x}
        delim="ghadelimiter_$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
        case "$key$value" in *"$delim"*) fail "a secret collides with the delimiter; run again" ;; esac
        printf '%s<<%s\n%s\n%s\n' "$key" "$delim" "$value" "$delim" >>"$GITHUB_ENV"
    done
    echo "arca: exported $count secrets to the job's environment"
else
    [ -n "${GITHUB_WORKSPACE:-}" ] || fail "GITHUB_WORKSPACE is not set"
    out=$GITHUB_WORKSPACE${INPUT_FILE_OUTPUT_PATH:-/.env}
    : >"$tmp/out.env"
    for ((i = n - 1; i >= 0; i--)); do
        "$arca" export --format dotenv "${scope[@]}" --path "${folders[$i]}" "${imports[@]}" \
            >>"$tmp/out.env"
    done
    install -m 0600 "$tmp/out.env" "$out.tmp.$$"
    mv -f "$out.tmp.$$" "$out"
    echo "arca: wrote $count secrets to ${INPUT_FILE_OUTPUT_PATH:-/.env}"
fi
