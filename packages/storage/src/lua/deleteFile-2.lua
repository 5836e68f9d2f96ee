--[[
  Removes a file's metadata and index entries, returning what was stored so the caller can remove
  the bytes (after this, no reader can reach them).
  KEYS[1] file hash   KEYS[2] project files zset
  ARGV[1] project     ARGV[2] file id   ARGV[3] purpose index key prefix (same hash tag; + JSON-decoded purpose)
  returns the file's HGETALL before deletion, or false when missing or another project's
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return false end
local raw = redis.call('HGETALL', KEYS[1])
local purpose = redis.call('HGET', KEYS[1], 'purpose')
redis.call('ZREM', KEYS[2], ARGV[2])
if purpose then redis.call('ZREM', ARGV[3] .. cjson.decode(purpose), ARGV[2]) end
redis.call('DEL', KEYS[1])
return raw
