--[[
  Takes an in-flight slot for one webhook delivery attempt, under two limits at once: the
  project's and the target's (an endpoint, or the project's callback_urls). Slots are leases:
  a dispatcher that dies holding one loses it when the lease expires.
  KEYS[1] project in-flight zset   KEYS[2] target in-flight zset   (member job id, score lease expiry ms)
  ARGV[1] now (ms)   ARGV[2] lease expiry (ms)   ARGV[3] member   ARGV[4] project limit   ARGV[5] target limit
  returns 1 (taken, or already held by this member), -1 (project at its limit), -2 (target at its limit)
]]
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return -2 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
local ttl = tonumber(ARGV[2]) - now + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
