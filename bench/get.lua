-- wrk: GET with the headers named in BENCH_COOKIE (a returning visitor)
-- and a German visitor's address; BENCH_UA replaces the browser's user
-- agent (a bot's: the decision is then not counted in the analytics).
local cookie = os.getenv("BENCH_COOKIE")
local ua = os.getenv("BENCH_UA")
if not ua or ua == "" then
  ua = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
end

function request()
  -- A browser's user agent: requests without one are left out of the
  -- analytics as bots, and the benchmark measures the decision as counted.
  local h = {["X-Forwarded-For"] = "46.4.0.1", ["User-Agent"] = ua}
  if cookie and cookie ~= "" then
    h["Cookie"] = cookie
  end
  return wrk.format("GET", nil, h)
end
