-- wrk: one receipt write per request, each for a new consent ID (a fresh
-- visitor clicking "Reject all"), so every write starts a new chain.
-- BENCH_HASH / BENCH_VERSION come from the decision (set by bench/run.sh).
local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local last = "AQgw"
local body
local limit = tonumber(os.getenv("BENCH_MAX") or "0")
local done = 0

local function consent_id()
  local t = {}
  for i = 1, 21 do
    local k = math.random(1, 64)
    t[i] = chars:sub(k, k)
  end
  local k = math.random(1, 4)
  t[22] = last:sub(k, k)
  return table.concat(t)
end

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
    ["Cookie"] = "consent_id=" .. consent_id(),
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
