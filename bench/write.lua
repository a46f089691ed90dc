-- wrk: one receipt write per request, each for a new consent ID (a fresh
-- visitor clicking "Reject all", without a cookie: the write issues one),
-- so every write starts a new chain.
-- BENCH_HASH / BENCH_VERSION come from the decision (set by bench/run.sh).
local body
local limit = tonumber(os.getenv("BENCH_MAX") or "0")
local done = 0

function setup(thread)
  thread:set("seed", math.random(1, 1000000000))
end

function init(args)
  math.randomseed(seed or os.time())
  body = '{"site":"demo","banner_version":"' .. os.getenv("BENCH_VERSION") ..
         '","texts_sha256":"' .. os.getenv("BENCH_HASH") .. '","action":"reject_all"}'
end

function request()
  return wrk.format("POST", "/consent/v1/consents", {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = "46.4.0.1",
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
  }, body)
end

function response(status, headers, body)
  if status ~= 201 then
    io.stderr:write("write answered " .. status .. "\n")
  end
  done = done + 1
  if limit > 0 and done >= limit then
    wrk.thread:stop()
  end
end
