--[[
  Hands an in-flight slot from an attempt that has ended to another one, or, with the same member
  twice, renews the lease of a slot a dispatcher keeps handing on between its own attempts
  (services/webhooks first-attempt-slots.ts): the counts stay, no parked job is woken (no slot
  came free), and the next attempt needs no acquire (7 commands) after a release (3).
  KEYS[1] project in-flight zset   KEYS[2] target in-flight zset
  ARGV[1] ending member   ARGV[2] next member (may be the same)   ARGV[3] the next member's lease expiry (ms)
  ARGV[4] now (ms)
  returns 1 (handed over), 0 (the ending lease was gone, e.g. expired and dropped: nothing done)
]]
if ARGV[1] == ARGV[2] then
  if redis.call('ZADD', KEYS[2], 'XX', 'CH', ARGV[3], ARGV[2]) == 0 then return 0 end
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
else
  -- Added before the ending member goes, so a set holding only it is never emptied (and recreated without a TTL).
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
    redis.call('ZREM', KEYS[2], ARGV[2])
    return 0
  end
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  redis.call('ZREM', KEYS[1], ARGV[1])
end
-- The sets outlive the newest lease (as acquireDeliverySlot-2.lua sets them), never shortened for another holder's.
local ttl = tonumber(ARGV[3]) - tonumber(ARGV[4]) + 1000
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
return 1
