-- erase.lua - erase a consent ID, keeping only a tombstone.
--
-- KEYS[1]  consent:{ID}             hash (head, count, states)
-- KEYS[2]  consent:{ID}:receipts    list of receipts
-- KEYS[3]  consent:{ID}:tombstone   hash written here: the proof of erasure
-- ARGV[1]  time of erasure (ms)
-- ARGV[2]  who asked (token name)
-- ARGV[3]  tombstone retention in seconds
--
-- Returns the number of receipts erased (0 when there was nothing: the
-- tombstone is still written, so a repeated request is recorded too).
local n = redis.call('LLEN', KEYS[2])
local written = redis.call('HGET', KEYS[1], 'count')
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[3], 'erased_ms', ARGV[1], 'by', ARGV[2],
           'receipts', n, 'receipts_written', written or 0)
redis.call('EXPIRE', KEYS[3], ARGV[3])
return n
