--[[
  Sets fields on an existing object owned by the project.
  KEYS[1] owner hash (carries _project: the thread, or the object itself)   KEYS[2] object hash
  ARGV[1] project   ARGV[2..] field, value pairs (may be empty: then this is a guarded read)
  returns the object's HGETALL, or false when missing or another project's
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return false end
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
if #ARGV > 1 then redis.call('HSET', KEYS[2], unpack(ARGV, 2)) end
return redis.call('HGETALL', KEYS[2])
