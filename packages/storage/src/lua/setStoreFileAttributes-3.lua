--[[
  Replaces a store file's attributes and queues the index's copy to follow (the store's single
  writer applies it; search filters read the index).
  KEYS[1] store hash   KEYS[2] store file hash   KEYS[3] store mailbox
  ARGV[1] project   ARGV[2] attributes JSON   ARGV[3] file id
  returns the file's HGETALL, or false when the store or file is missing or another project's
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return false end
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
redis.call('HSET', KEYS[2], 'attributes', ARGV[2])
redis.call('RPUSH', KEYS[3], 'attrs:' .. ARGV[3])
return redis.call('HGETALL', KEYS[2])
