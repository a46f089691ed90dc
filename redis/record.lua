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
-- Returns {1, new head} when written, or {0, current head} when another
-- write got there first: the caller re-chains to the current head, re-signs
-- and tries again, so a history never forks. Either everything is written or
-- nothing is.
local head = redis.call('HGET', KEYS[1], 'head')
if not head then
  head = ''
end
if head ~= ARGV[1] then
  return {0, head}
end
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[6]) - 1)
redis.call('HSET', KEYS[1], 'head', ARGV[5], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('EXPIRE', KEYS[2], ARGV[7])
return {1, ARGV[5]}
