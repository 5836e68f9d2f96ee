--[[
  Cancels a pending upload (no parts may be added after).
  KEYS[1] upload hash
  ARGV[1] project   ARGV[2] now
  returns { 'OK', HGETALL } | { 'NOT_FOUND' } | { 'STATUS', status } ('completed', 'cancelled', 'expired', 'completing')
]]
if redis.call('HGET', KEYS[1], '_project') ~= ARGV[1] then return { 'NOT_FOUND' } end
local status = cjson.decode(redis.call('HGET', KEYS[1], 'status'))
if status ~= 'pending' then return { 'STATUS', status } end
if tonumber(redis.call('HGET', KEYS[1], 'expires_at')) <= tonumber(ARGV[2]) then return { 'STATUS', 'expired' } end
if redis.call('HEXISTS', KEYS[1], '_completing') == 1 then return { 'STATUS', 'completing' } end
redis.call('HSET', KEYS[1], 'status', '"cancelled"')
return { 'OK', redis.call('HGETALL', KEYS[1]) }
