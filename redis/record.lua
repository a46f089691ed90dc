-- record.lua - append one signed receipt to a consent ID, atomically.
--
-- KEYS[1]  c:{ID}      hash: "m" -> sealed head; "<seq>" -> stored receipt
-- KEYS[2]  c:{ID}:t    tombstone of an erasure (hash), if any
-- ARGV[1]  the head the receipt was chained to ("" for the first receipt)
-- ARGV[2]  the new sealed head
-- ARGV[3]  the receipt's sequence number (its field)
-- ARGV[4]  the stored receipt
-- ARGV[5]  retention in seconds (TTL of the hash)
-- ARGV[6..] sequence numbers the history bound drops
--
-- Returns {1} when written (or when this very head is already in place: an
-- earlier try of the same write reached Redis before its connection
-- failed), {0, current head} when another write got there first (the
-- caller re-chains to it, re-signs and tries again, so a history never
-- forks), {2} when the ID was erased (the caller issues a new ID: an erased
-- history is never continued). Either everything is written or nothing is.
-- A write publishes the consent ID on "consent:heads" (redis/watch.h), in
-- the same script, so every consentd's head cache forgets it.
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {2}
end
local head = redis.call('HGET', KEYS[1], 'm')
if not head then
  head = ''
end
if head == ARGV[2] then
  return {1}
end
if head ~= ARGV[1] then
  return {0, head}
end
redis.call('HSET', KEYS[1], 'm', ARGV[2], ARGV[3], ARGV[4])
for i = 6, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', 'consent:heads', string.sub(KEYS[1], 4, -2))
return {1}
