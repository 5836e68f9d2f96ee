--[[
  Records a part whose bytes are already stored, if the upload still takes parts.
  KEYS[1] upload hash   KEYS[2] upload parts hash (part id → byte count)
  ARGV[1] project   ARGV[2] part id   ARGV[3] byte count   ARGV[4] now (Unix seconds)
  returns 'OK' | 'NOT_FOUND' | the upload's status when it takes no parts ('completed', 'cancelled', 'expired', 'completing')
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return 'NOT_FOUND' end
local status = cjson.decode(redis.call('HGET', KEYS[1], 'status'))
if status ~= 'pending' then return status end
if tonumber(redis.call('HGET', KEYS[1], 'expires_at')) <= tonumber(ARGV[4]) then return 'expired' end
if redis.call('HEXISTS', KEYS[1], '_completing') == 1 then return 'completing' end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 'OK'
