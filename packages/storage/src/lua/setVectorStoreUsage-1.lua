--[[
  Sets a store's usage_bytes (as measured on its index) if the store still exists.
  KEYS[1] store hash   ARGV[1] usage in bytes
  returns 1 when set, 0 when the store is gone
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'usage_bytes', tonumber(ARGV[1]))
return 1
