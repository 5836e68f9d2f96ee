--[[
  Hands an in-flight slot from an attempt that has ended to one waiting for the same target in the
  same process (services/webhooks first-attempts.ts): the counts stay, no parked job is woken (no
  slot came free), and the waiter needs no acquire (7 commands) after this release (3).
  KEYS[1] project in-flight zset   KEYS[2] target in-flight zset
  ARGV[1] ending member   ARGV[2] next member   ARGV[3] the next member's lease expiry (ms)
  returns 1 (handed over), 0 (the ending lease was gone, e.g. expired and dropped: nothing done)
]]
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return 1
