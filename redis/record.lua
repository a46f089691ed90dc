-- record.lua - append one signed receipt to a consent ID, atomically.
--
-- KEYS[1]  consent:{ID}            hash: head, count, site:<site> -> state
-- KEYS[2]  consent:{ID}:receipts   list: stored receipts, newest first
-- ARGV[1]  the head the receipt was chained to ("" for the first receipt)
-- ARGV[2]  the stored receipt (signature + payload)
-- ARGV[3]  the state field ("site:<site>")
-- ARGV[4]  the new state (JSON)
-- ARGV[5]  the new head (SHA-256 of the payload)
-- ARGV[6]  how many receipts to keep
-- ARGV[7]  retention in seconds (TTL of both keys)
--
-- Returns {1, new head, receipt ids trimmed...} when written (the caller
-- deletes the trimmed receipts' index keys, which live in other cluster
-- slots), or {0, current head} when another write got there first: the caller re-chains to the current head, re-signs
-- and tries again, so a history never forks. Either everything is written or
-- nothing is.
local head = redis.call('HGET', KEYS[1], 'head')
if not head then
  head = ''
end
if head ~= ARGV[1] then
  return {0, head}
end
local len = redis.call('LPUSH', KEYS[2], ARGV[2])
local max = tonumber(ARGV[6])
local result = {1, ARGV[5]}
if len > max then
  -- 'trimmed' lets verification tell receipts dropped by the bound from
  -- receipts someone removed.
  for _, v in ipairs(redis.call('LRANGE', KEYS[2], max, -1)) do
    local ok, r = pcall(cjson.decode, string.sub(v, 65))
    if ok and type(r) == 'table' and type(r.receipt_id) == 'string' then
      result[#result + 1] = r.receipt_id
    end
  end
  redis.call('LTRIM', KEYS[2], 0, max - 1)
  redis.call('HINCRBY', KEYS[1], 'trimmed', len - max)
end
redis.call('HSET', KEYS[1], 'head', ARGV[5], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('EXPIRE', KEYS[2], ARGV[7])
return result
