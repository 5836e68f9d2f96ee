--[[
  Replaces a signing secret, optionally keeping the old one valid until a deadline.
  KEYS[1] hash holding _project, _secret, _prev_secret, _prev_expires (an endpoint, or the project's signing secret)
  ARGV[1] project   ARGV[2] new secret   ARGV[3] old secret's expiry (unix s), or '' to drop the old secret now
  ARGV[4..] further field, value pairs to set (e.g. the hint and updated_at)
  returns the hash's HGETALL, or false when missing or another project's
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return false end
local old = redis.call('HGET', KEYS[1], '_secret')
if ARGV[3] ~= '' and old then
  redis.call('HSET', KEYS[1], '_prev_secret', old, '_prev_expires', ARGV[3])
else
  redis.call('HDEL', KEYS[1], '_prev_secret', '_prev_expires')
end
redis.call('HSET', KEYS[1], '_secret', ARGV[2])
if #ARGV > 3 then redis.call('HSET', KEYS[1], unpack(ARGV, 4)) end
return redis.call('HGETALL', KEYS[1])
