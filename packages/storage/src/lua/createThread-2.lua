--[[
  Creates a thread with its initial messages in one step.
  KEYS[1] thread hash   KEYS[2] messages zset
  ARGV[1] project       ARGV[2] message key prefix   ARGV[3] number of thread field/value items (n)
  ARGV[4 .. 3+n] thread fields, then per message: id, item count m, m field/value items
  returns 'OK'
]]
local n = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], '_project', ARGV[1], '_seq', 0, unpack(ARGV, 4, 3 + n))
local i = 4 + n
while i <= #ARGV do
  local id = ARGV[i]
  local m = tonumber(ARGV[i + 1])
  local seq = redis.call('HINCRBY', KEYS[1], '_seq', 1)
  redis.call('HSET', ARGV[2] .. id, unpack(ARGV, i + 2, i + 1 + m))
  redis.call('ZADD', KEYS[2], seq, id)
  i = i + 2 + m
end
return 'OK'
