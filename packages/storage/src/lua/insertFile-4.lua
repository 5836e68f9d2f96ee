--[[
  Stores a new file's metadata and indexes it (all files of the project, and files of its purpose).
  KEYS[1] file hash   KEYS[2] project files zset   KEYS[3] purpose files zset   KEYS[4] project meta (field _seq)
  ARGV[1] file id     ARGV[2] project              ARGV[3..] field, value pairs (JSON values, internal _fields too)
  returns the sequence number (the index score)
]]
redis.call('HSETNX', KEYS[4], '_project', ARGV[2])
local seq = redis.call('HINCRBY', KEYS[4], '_seq', 1)
redis.call('HSET', KEYS[1], '_project', ARGV[2], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('ZADD', KEYS[3], seq, ARGV[1])
return seq
