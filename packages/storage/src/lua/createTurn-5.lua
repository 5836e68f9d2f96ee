--[[
  Accepts a turn: stores it `queued` and appends it to the thread's mailbox. Never refused for an
  active run: turns wait their place in line.
  KEYS[1] thread hash   KEYS[2] turns zset   KEYS[3] turn hash   KEYS[4] mailbox list
  KEYS[5] shard pending zset
  ARGV[1] project   ARGV[2] turn id   ARGV[3] thread id   ARGV[4] now (ms)   ARGV[5..] turn field/value items
  returns 'OK' | 'NOT_FOUND'
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return 'NOT_FOUND' end
local seq = redis.call('HINCRBY', KEYS[1], '_seq', 1)
redis.call('HSET', KEYS[3], '_project', ARGV[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], seq, ARGV[2])
redis.call('RPUSH', KEYS[4], 'turn:' .. ARGV[2])
redis.call('ZADD', KEYS[5], 'NX', ARGV[4], ARGV[3])
return 'OK'
