-- wrk: GET with the headers named in BENCH_COOKIE (a returning visitor)
-- and a German visitor's address.
local cookie = os.getenv("BENCH_COOKIE")

function request()
  local h = {["X-Forwarded-For"] = "46.4.0.1"}
  if cookie and cookie ~= "" then
    h["Cookie"] = cookie
  end
  return wrk.format("GET", nil, h)
end
