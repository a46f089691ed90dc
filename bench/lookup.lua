-- wrk: the support API's lookup, GET /consent/v1/admin/consents/{id}, each
-- request for a consent ID picked at random from BENCH_ID_FILE (one a
-- line: every ID stored), with the bearer token BENCH_TOKEN (role read).
-- A lookup reads the ID's history, verifies every receipt's signature and
-- chain, and appends to the audit stream, as a support person's does.
local ids = {}
local token = os.getenv("BENCH_TOKEN")

function setup(thread)
  thread:set("seed", math.random(1, 1000000000))
end

function init(args)
  math.randomseed(seed or os.time())
  for line in io.lines(os.getenv("BENCH_ID_FILE")) do
    ids[#ids + 1] = line
  end
end

function request()
  local id = ids[math.random(1, #ids)]
  return wrk.format("GET", "/consent/v1/admin/consents/" .. id,
                    {["Authorization"] = "Bearer " .. token})
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("lookup answered " .. status .. "\n")
  end
end
