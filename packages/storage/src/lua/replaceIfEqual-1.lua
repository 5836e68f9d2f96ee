--[[
  Replaces a string value only if it still holds what the caller read (a compare-and-set), with a TTL.
  KEYS[1] the key
  ARGV[1] expected value   ARGV[2] new value   ARGV[3] TTL in seconds
  returns 1 replaced | 0 the value changed or the key is gone (nothing written)
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
