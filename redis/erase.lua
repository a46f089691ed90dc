-- erase.lua - erase a consent ID, adding to its tombstone.
--
-- KEYS[1]  c:{ID}     hash: sealed head and receipts
-- KEYS[2]  c:{ID}:t   tombstone: "n" erasures so far, "e<k>" one line each
-- ARGV[1]  time of erasure (ms)
-- ARGV[2]  who asked (token name or cli:user)
-- ARGV[3]  tombstone retention in seconds
--
-- A tombstone is never overwritten: every erasure, the first and any
-- repeated one, adds its own line "<erased_ms> <receipts> <written> <by>"
-- (receipts erased, receipts ever written according to the head). Returns
-- {receipts erased, this erasure's number}. Publishes the consent ID on
-- "consent:heads" (redis/watch.h) so every consentd's head cache forgets it.
local receipts = redis.call('HLEN', KEYS[1])
local head = redis.call('HGET', KEYS[1], 'm')
local written = 0
if head then
  receipts = receipts - 1
  if string.len(head) >= 5 then
    written = struct.unpack('>I4', head, 2)
  end
end
redis.call('DEL', KEYS[1])
local k = redis.call('HINCRBY', KEYS[2], 'n', 1)
redis.call('HSET', KEYS[2], 'e' .. k,
           ARGV[1] .. ' ' .. receipts .. ' ' .. written .. ' ' .. ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', 'consent:heads', string.sub(KEYS[1], 4, -2))
return {receipts, k}
