--[[
  Takes an in-flight slot for one webhook delivery attempt, under two limits at once: the
  project's and the target's (an endpoint, or the project's callback_urls). Slots are leases:
  a dispatcher that dies holding one loses it when the lease expires.
  KEYS[1] project in-flight zset   KEYS[2] target in-flight zset   (member job id, score lease expiry ms)
  ARGV[1] now (ms)   ARGV[2] lease expiry (ms)   ARGV[3] member   ARGV[4] project limit   ARGV[5] target limit
  returns 1 (taken, or already held by this member: its lease renewed), -1 (project at its limit),
  -2 (target at its limit)
  The lease is added first and counted with it (7 commands when it fits, against 10 for
  clean-count-add): expired leases of dead holders are dropped only when a set seems full.
]]
local now = tonumber(ARGV[1])
local newTarget = redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
local newProject = redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local function over(key, limit)
  if redis.call('ZCARD', key) <= limit then return false end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  return redis.call('ZCARD', key) > limit
end
local refused = 0
if newTarget == 1 and over(KEYS[2], tonumber(ARGV[5])) then
  refused = -2
elseif newProject == 1 and over(KEYS[1], tonumber(ARGV[4])) then
  refused = -1
end
if refused ~= 0 then
  if newTarget == 1 then redis.call('ZREM', KEYS[2], ARGV[3]) end
  if newProject == 1 then redis.call('ZREM', KEYS[1], ARGV[3]) end
  return refused
end
local ttl = tonumber(ARGV[2]) - now + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
