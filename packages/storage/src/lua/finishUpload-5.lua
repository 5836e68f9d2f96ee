--[[
  Completes a claimed upload: stores its file (as insertFile-4 does) and marks the upload
  `completed` with the file, in one step, so a completed upload always has its file and vice versa.
  KEYS[1] upload hash   KEYS[2] file hash   KEYS[3] project files zset   KEYS[4] purpose files zset   KEYS[5] project meta
  ARGV[1] file id   ARGV[2] project   ARGV[3] the file as JSON (the upload's `file` field)   ARGV[4..] the file's field, value pairs
  returns the sequence number, or false when the upload is no longer claimed (e.g. cancelled meanwhile)
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[2] then return false end
if not redis.call('HGET', KEYS[1], '_completing') then return false end
redis.call('HSETNX', KEYS[5], '_project', ARGV[2])
local seq = redis.call('HINCRBY', KEYS[5], '_seq', 1)
redis.call('HSET', KEYS[2], '_project', ARGV[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[3], seq, ARGV[1])
redis.call('ZADD', KEYS[4], seq, ARGV[1])
redis.call('HSET', KEYS[1], 'status', '"completed"', 'file', ARGV[3])
redis.call('HDEL', KEYS[1], '_completing')
return seq
