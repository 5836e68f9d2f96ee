--[[
  Stores a new object and indexes it by a per-parent sequence number.
  KEYS[1] object hash   KEYS[2] index zset   KEYS[3] counter hash (field _seq)
  ARGV[1] object id     ARGV[2] project      ARGV[3..] field, value pairs (JSON values)
  returns the sequence number
]]
redis.call('HSETNX', KEYS[3], '_project', ARGV[2])
local seq = redis.call('HINCRBY', KEYS[3], '_seq', 1)
redis.call('HSET', KEYS[1], '_project', ARGV[2], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], seq, ARGV[1])
return seq
