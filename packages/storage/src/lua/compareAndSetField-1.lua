--[[
  Sets one field of a project's object only if it still holds the value the caller read.
  KEYS[1] object hash (carries _project)
  ARGV[1] project   ARGV[2] field   ARGV[3] expected value ('' = absent)   ARGV[4] new value
  returns { 'OK' } | { 'NOT_FOUND' } | { 'CHANGED', current value or false }
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return { 'NOT_FOUND' } end
local current = redis.call('HGET', KEYS[1], ARGV[2])
if (current or '') ~= ARGV[3] then return { 'CHANGED', current } end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
return { 'OK' }
