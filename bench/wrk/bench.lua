-- bench.lua - the one wrk script of bench/run.mjs, configured by environment:
--   BENCH_METHOD  GET (default) or PATCH/POST/...
--   BENCH_TOKEN   bearer token (none if unset)
--   BENCH_PATH    request path; "{key}" is replaced by KEY_<n> (n cycles over
--                 BENCH_KEYS keys, spread across threads and requests)
--   BENCH_BODY    JSON body; "{n}" is replaced by a per-thread request counter
-- done() prints one JSON line: requests, seconds, rps, p50/p99 (ms), non-2xx, errors.
local method = os.getenv("BENCH_METHOD") or "GET"
local token = os.getenv("BENCH_TOKEN")
local path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY")
local keys = tonumber(os.getenv("BENCH_KEYS") or "1")

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local headers = {}
local n = 0

function init(args)
    if token and token ~= "" then
        headers["Authorization"] = "Bearer " .. token
    end
    if body then
        headers["Content-Type"] = "application/json"
    end
end

function request()
    n = n + 1
    local p = path:gsub("{key}", "KEY_" .. ((n * 7 + tid * 13) % keys))
    local b = body and body:gsub("{n}", tid .. "-" .. n) or nil
    return wrk.format(method, p, headers, b)
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        '{"requests":%d,"seconds":%.6f,"rps":%.2f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
        '"non2xx":%d,"errors":%d}\n',
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        e.status, e.connect + e.read + e.write + e.timeout))
end
