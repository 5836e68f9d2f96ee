--[[
  Appends messages to a thread unless a run holds it.
  KEYS[1] thread hash   KEYS[2] messages zset
  ARGV[1] project       ARGV[2] message key prefix
  ARGV[3..] per message: id, item count m, m field/value items
  returns 'OK' | 'NOT_FOUND' | 'ACTIVE:<run id>'
]]
local owner = redis.call('HGET', KEYS[1], '_project')
if owner ~= ARGV[1] then return 'NOT_FOUND' end
local active = redis.call('HGET', KEYS[1], '_active_run')
if active then return 'ACTIVE:' .. active end
local i = 3
while i <= #ARGV do
  local id = ARGV[i]
  local m = tonumber(ARGV[i + 1])
  local seq = redis.call('HINCRBY', KEYS[1], '_seq', 1)
  redis.call('HSET', ARGV[2] .. id, unpack(ARGV, i + 2, i + 1 + m))
  redis.call('ZADD', KEYS[2], seq, id)
  i = i + 2 + m
end
return 'OK'
