--[[
  Appends one delivery attempt to an owner's log, keeps the log bounded, and tracks the owner's
  failure streak (services/webhooks decides from it whether to disable the endpoint).
  KEYS[1] owner hash (carries _project: the endpoint, or the project's signing-secret hash)
  KEYS[2] delivery index zset (score = sequence)   KEYS[3] delivery hash
  ARGV[1] project   ARGV[2] delivery id   ARGV[3] max deliveries kept   ARGV[4] delivery key prefix
  ARGV[5] streak: 'success' (resets it) | 'failure' (extends it) | 'none'   ARGV[6] now (unix ms)
  ARGV[7..] field, value pairs of the delivery (JSON values)
  returns { consecutive failures, streak start (unix ms, 0 when none) }, or false when the owner
  is gone or another project's (the attempt is then not recorded)
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return false end
local seq = redis.call('HINCRBY', KEYS[1], '_dseq', 1)
redis.call('HSET', KEYS[3], '_project', ARGV[1], '_owner', KEYS[1], unpack(ARGV, 7))
redis.call('ZADD', KEYS[2], seq, ARGV[2])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if excess > 0 then
  local old = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #old, 2 do redis.call('DEL', ARGV[4] .. old[i]) end
end
if ARGV[5] == 'success' then
  redis.call('HSET', KEYS[1], '_fail_count', 0, '_fail_since', 0)
elseif ARGV[5] == 'failure' then
  redis.call('HINCRBY', KEYS[1], '_fail_count', 1)
  if tonumber(redis.call('HGET', KEYS[1], '_fail_since') or '0') == 0 then
    redis.call('HSET', KEYS[1], '_fail_since', ARGV[6])
  end
end
return { tonumber(redis.call('HGET', KEYS[1], '_fail_count') or '0'), tonumber(redis.call('HGET', KEYS[1], '_fail_since') or '0') }
